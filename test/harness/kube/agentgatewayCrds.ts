// The upstream AgentgatewayPolicy CRD, as agentgateway's own Helm chart installs it, read from the
// Go module (the module proxy serves the repository, CRD YAML included). Tests install it in place
// of ours to check that agentplane works in clusters that already carry agentgateway's CRDs.
import { execFile } from "node:child_process"
import { readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { parse } from "yaml"

export const AGENTGATEWAY_MODULE = "github.com/agentgateway/agentgateway@v1.4.1"
const POLICY_CRD = "controller/install/helm/agentgateway-crds/templates/agentgateway.dev_agentgatewaypolicies.yaml"

/** The module's folder in the Go module cache, downloaded on first use. */
export const agentgatewayModuleDir = async (): Promise<string> => {
  const { stdout } = await promisify(execFile)("go", ["mod", "download", "-json", AGENTGATEWAY_MODULE], {
    // Outside any module, and ignoring a go.work above it.
    cwd: tmpdir(),
    env: { ...process.env, GOWORK: "off", GOFLAGS: "-mod=mod" },
    maxBuffer: 4 * 1024 * 1024
  })
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string }
  if (info.Dir === undefined) throw new Error(`go mod download ${AGENTGATEWAY_MODULE}: ${info.Error ?? stdout}`)
  return info.Dir
}

/** The upstream `agentgatewaypolicies.agentgateway.dev` CRD object. */
export const upstreamPolicyCrd = async (): Promise<Record<string, any>> => {
  const file = path.join(await agentgatewayModuleDir(), POLICY_CRD)
  const crd = parse(await readFile(file, "utf8")) as Record<string, any>
  if (crd?.["kind"] !== "CustomResourceDefinition" || crd["metadata"]?.name !== "agentgatewaypolicies.agentgateway.dev") {
    throw new Error(`${file} is not the AgentgatewayPolicy CRD`)
  }
  return crd
}
