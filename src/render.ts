// What `render` prints, apart from the command line: manifests read once,
// translated, and shown as `/debug/config_dump` shows what is served, with
// the same problems the file source reports while serving.
import { configDump, type ConfigDump } from "./admin/configDump.ts"
import type { SourceProblem } from "./world/source.ts"
import { missingClassProblems } from "./files/missingClasses.ts"
import { type ManifestContents, objectsOf } from "./files/readManifests.ts"
import type { TranslateOptions } from "./translate/options.ts"
import { statusesWithProblems } from "./translate/status.ts"
import { translate } from "./translate/translate.ts"
import { worldFromObjects } from "./world/world.ts"
import { buildSnapshot, emptySnapshot, type Snapshot } from "./xds/snapshot.ts"

export interface Rendered {
  readonly snapshot: Snapshot
  readonly problems: ReadonlyArray<SourceProblem>
  /** The dump of everything, or of one gateway's resources and status. */
  readonly dump: (gateway?: string) => ConfigDump
}

export const renderContents = (contents: ManifestContents, options: TranslateOptions): Rendered => {
  const { objects, problems: duplicates } = objectsOf(contents)
  const world = worldFromObjects(objects)
  const gatewayFiles = new Map<string, string>()
  for (const [file, { objects: fileObjects }] of contents.files) {
    for (const id of fileObjects.keys()) if (id.startsWith("Gateway/")) gatewayFiles.set(id.slice("Gateway/".length), file)
  }
  const problems = [...contents.problems, ...duplicates, ...missingClassProblems(world, (key) => gatewayFiles.get(key) ?? "")]
  const translation = translate(world, options)
  const snapshot = buildSnapshot(translation, emptySnapshot)
  const statuses = statusesWithProblems(translation.statuses, problems)
  return { snapshot, problems, dump: (gateway) => configDump({ snapshot, statuses, problems }, gateway) }
}
