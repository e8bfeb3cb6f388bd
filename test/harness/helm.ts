// helm for the chart tests, built from the Go module proxy on first use (./goTool.ts) and cached
// in `$AGENTPLANE_HELM_CACHE` (default `~/.cache/agentplane/helm/<version>`).
import { ensureGoTool, mainIfScript, type EnsureOptions, type GoTool } from "./goTool.ts"

// The newest v3 release the proxy serves; its go.mod asks for go 1.26.0, which the machines have.
export const helmVersion = "v3.22.0"

export const helmTool: GoTool = {
  name: "helm",
  module: "helm.sh/helm/v3",
  pkg: "helm.sh/helm/v3/cmd/helm",
  version: helmVersion,
  // What helm's Makefile stamps, so `helm version` reports the release rather than "v3.x-dev".
  ldflags: [`-X helm.sh/helm/v3/internal/version.version=${helmVersion}`, "-X helm.sh/helm/v3/internal/version.gitTreeState=clean"],
  cacheEnv: "AGENTPLANE_HELM_CACHE",
  firstBuild: "about 2 minutes on 2 cores"
}

/** The path of a `helm` binary of `helmVersion`. */
export const ensureHelm = (options: EnsureOptions = {}): Promise<string> => ensureGoTool(helmTool, options)

await mainIfScript(import.meta.url, helmTool)
