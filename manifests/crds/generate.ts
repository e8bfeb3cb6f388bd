// Writes the CRDs of manifests/crds/ from the Schemas in src/api (npm run crds).
import { writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { stringify } from "yaml"
import { gatewayParametersCrd } from "../../src/api/crd.ts"

export const HEADER = "# Generated from src/api/gatewayParameters.ts by `npm run crds`; do not edit.\n"

export const crdFiles = (): ReadonlyArray<{ readonly file: string; readonly text: string }> => [
  { file: "gateway.kgateway.dev_gatewayparameters.yaml", text: HEADER + stringify(gatewayParametersCrd(), { lineWidth: 0 }) }
]

/** Where the CRDs live: here (listed in ./kustomization.yaml) and in the Helm chart's crds/. */
export const CRD_DIRS = ["manifests/crds", "manifests/helm/agentplane/crds"] as const

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "../..")
  for (const dir of CRD_DIRS) {
    for (const { file, text } of crdFiles()) {
      writeFileSync(join(root, dir, file), text)
      console.log(`wrote ${dir}/${file}`)
    }
  }
}
