// Writes the CRDs of manifests/crds/ from the Schemas in src/api (npm run crds), and the Helm
// chart's copies: GatewayParameters in its crds/ folder, AgentgatewayPolicy as a template behind
// the value crds.agentgatewayPolicy, so clusters that already have agentgateway's CRDs skip ours.
import { writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { stringify } from "yaml"
import { gatewayParametersCrd } from "../../src/api/crd.ts"
import { agentgatewayPolicyCrd } from "../../src/api/policyCrd.ts"

const header = (source: string) => `# Generated from ${source} by \`npm run crds\`; do not edit.\n`

const yaml = (value: unknown) => stringify(value, { lineWidth: 0, aliasDuplicateObjects: false })

/** The generated CRDs, by file name (manifests/crds/ and the chart's crds/ hold the same text). */
export const crdFiles = (): ReadonlyArray<{ readonly file: string; readonly text: string }> => [
  { file: "agentgateway.dev_agentgatewaypolicies.yaml", text: header("src/api/agentgatewayPolicy.ts (src/api/policyCrd.ts)") + yaml(agentgatewayPolicyCrd()) },
  { file: "gateway.kgateway.dev_gatewayparameters.yaml", text: header("src/api/gatewayParameters.ts") + yaml(gatewayParametersCrd()) }
]

/** The CRDs the chart installs from crds/ (Helm's way, unconditionally). */
export const CHART_CRDS = ["gateway.kgateway.dev_gatewayparameters.yaml"] as const

/** The chart's AgentgatewayPolicy CRD: a template, kept on uninstall (deleting a CRD deletes every policy). */
export const chartPolicyCrdTemplate = (): { readonly file: string; readonly text: string } => {
  const crd = agentgatewayPolicyCrd()
  const kept = { ...crd, metadata: { ...crd.metadata, annotations: { "helm.sh/resource-policy": "keep" } } }
  return {
    file: "templates/agentgateway.dev_agentgatewaypolicies.yaml",
    text: `${header("src/api/agentgatewayPolicy.ts (src/api/policyCrd.ts)")}# Skipped with crds.agentgatewayPolicy=false where agentgateway's own CRDs are installed.\n{{- if .Values.crds.agentgatewayPolicy }}\n${yaml(kept)}{{- end }}\n`
  }
}

/** The CRDs live here (listed in ./kustomization.yaml) and in the Helm chart. */
export const CHART_DIR = "manifests/helm/agentplane"

/** Every generated file, by path from the repository root. */
export const generatedFiles = (): ReadonlyArray<{ readonly path: string; readonly text: string }> => [
  ...crdFiles().map(({ file, text }) => ({ path: `manifests/crds/${file}`, text })),
  ...crdFiles()
    .filter(({ file }) => (CHART_CRDS as ReadonlyArray<string>).includes(file))
    .map(({ file, text }) => ({ path: `${CHART_DIR}/crds/${file}`, text })),
  { path: `${CHART_DIR}/${chartPolicyCrdTemplate().file}`, text: chartPolicyCrdTemplate().text }
]

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "../..")
  for (const { path, text } of generatedFiles()) {
    writeFileSync(join(root, path), text)
    console.log(`wrote ${path}`)
  }
}
