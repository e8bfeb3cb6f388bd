// Manifests as the file-source tests write and read them: an MCP Service's
// YAML, a directory read as `serve` reads it, and the objects it yields.
import { Effect } from "effect"
import { directoryInput, emptyContents, type ManifestContents, objectsOf, readManifests } from "../../src/files/readManifests.ts"

/** A Service with one MCP port, as YAML. */
export const mcpServiceYaml = (name: string, port: number | string = 80, namespace = "ns") =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  ports:\n  - port: ${port}\n    appProtocol: kgateway.dev/mcp\n`

/** Every manifest below `dir`, read afresh or on top of `previous`. */
export const readDirectoryOnce = (dir: string, previous: ManifestContents = emptyContents) => Effect.runPromise(readManifests([directoryInput(dir)], previous))

/** `Kind/name` of every object read, sorted. */
export const objectNames = (contents: ManifestContents) =>
  objectsOf(contents)
    .objects.map((o) => `${o.kind}/${o.metadata.name}`)
    .sort()
