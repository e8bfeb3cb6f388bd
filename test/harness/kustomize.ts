// kustomize for the install tests, built from the Go module proxy on first use (./goTool.ts) and
// cached in `$AGENTPLANE_KUSTOMIZE_CACHE` (default `~/.cache/agentplane/kustomize/<version>`).
// The real tool, not a re-implementation: it enforces what `kubectl apply -k` enforces (e.g. no
// resource files outside the kustomization's folder).
import { ensureGoTool, mainIfScript, type EnsureOptions, type GoTool } from "./goTool.ts"

// v5.8.3 needs go 1.27; v5.8.2 is the newest that builds with the machines' Go 1.26.
export const kustomizeVersion = "v5.8.2"

export const kustomizeTool: GoTool = {
  name: "kustomize",
  module: "sigs.k8s.io/kustomize/kustomize/v5",
  pkg: "sigs.k8s.io/kustomize/kustomize/v5",
  version: kustomizeVersion,
  cacheEnv: "AGENTPLANE_KUSTOMIZE_CACHE",
  firstBuild: "under a minute"
}

/** The path of a `kustomize` binary of `kustomizeVersion`. */
export const ensureKustomize = (options: EnsureOptions = {}): Promise<string> => ensureGoTool(kustomizeTool, options)

await mainIfScript(import.meta.url, kustomizeTool)
