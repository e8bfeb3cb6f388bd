// Reads the manifests of file mode's inputs (directories, single files, the
// text of standard input) into decoded objects, reusing what an earlier read
// found where a file is unchanged, unreadable or caught mid-rewrite. One bad
// file, document or input is a problem of its own; the rest is still read.
import { stat } from "node:fs/promises"
import { dirname, relative, resolve } from "node:path"
import { Effect } from "effect"
import type { InputObject } from "../api/objects.ts"
import type { SourceProblem } from "../world/source.ts"
import { mebibytes, readManifestFile } from "./manifestFile.ts"
import { isHiddenBelow, isManifestName, listManifestTree } from "./manifestTree.ts"
import { type FileObjects, parseFile, unreadableFile } from "./parseManifests.ts"

/** Where manifests come from: what the user named on the command line. */
export type ManifestInput =
  /** Read recursively and watched. */
  | { readonly _tag: "Directory"; readonly path: string }
  /** One file, watched. */
  | { readonly _tag: "File"; readonly path: string }
  /** Text read once (standard input); never changes. */
  | { readonly _tag: "Text"; readonly name: string; readonly text: string }

/** A directory of manifests (read recursively, watched), by any path to it. */
export const directoryInput = (path: string): ManifestInput => ({ _tag: "Directory", path: resolve(path) })

export interface ManifestContents {
  /** By the name problems give them: the path relative to the working directory. */
  readonly files: ReadonlyMap<string, FileObjects>
  readonly problems: ReadonlyArray<SourceProblem>
  /** Kinds present in the files that agentplane does not read. */
  readonly ignoredKinds: ReadonlyArray<string>
  /**
   * Paths that had objects and read empty: most likely rewritten in place (truncated, then
   * written). They keep their objects until read again after `REWRITE_GRACE_MS`.
   */
  readonly emptied: ReadonlySet<string>
  /** Directories the last full read entered: a change elsewhere needs a full read. */
  readonly directories: ReadonlySet<string>
  /** Inputs that are gone (a directory removed or replaced mid-way): their files keep what they held. */
  readonly lost: ReadonlyArray<string>
}

export const emptyContents: ManifestContents = {
  files: new Map(),
  problems: [],
  ignoredKinds: [],
  emptied: new Set(),
  directories: new Set(),
  lost: []
}

/** How long an emptied file gets to be written again before its objects are removed. */
export const REWRITE_GRACE_MS = 25

/**
 * The most all manifest files together may hold. Memory grows with what is read: 6 MiB of Services
 * behind one Gateway take about 360 MiB once translated and about 450 MiB while a 4 MiB file is
 * re-read, under the Deployment's 512 MiB limit. A fleet bigger than this belongs in a cluster.
 */
export const MAX_TOTAL_BYTES = 6 * 1024 * 1024

/** Files read at once: enough to keep the thread pool busy, few enough to bound what is held. */
const READ_CONCURRENCY = 8

export const displayName = (path: string) => relative(process.cwd(), path) || path

const inputPath = (input: ManifestInput) => (input._tag === "Text" ? input.name : input.path)

const isInside = (root: string, path: string) => path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`)

const sortedContents = (
  files: ReadonlyMap<string, FileObjects>,
  emptied: ReadonlySet<string>,
  directories: ReadonlySet<string>,
  lost: ReadonlyArray<string>
): ManifestContents => {
  const sorted = new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  return {
    files: sorted,
    problems: [
      ...lost.map((path) => ({
        origin: displayName(path),
        message: "is gone; the objects last read from it are still served until it is back"
      })),
      ...[...sorted.values()].flatMap((file) => file.problems)
    ],
    ignoredKinds: [...new Set([...sorted.values()].flatMap((file) => file.ignored))].sort(),
    emptied,
    directories,
    lost
  }
}

/** The paths a full read looks at, by input; inputs that are gone keep what they held. */
const listInputs = async (inputs: ReadonlyArray<ManifestInput>) => {
  const paths: Array<string> = []
  const directories = new Set<string>()
  const lost: Array<string> = []
  for (const input of inputs) {
    if (input._tag === "Text") continue
    const info = await stat(input.path).catch(() => undefined)
    if (input._tag === "File") {
      if (info === undefined) lost.push(input.path)
      else paths.push(input.path)
      continue
    }
    if (info?.isDirectory() !== true) {
      lost.push(input.path)
      continue
    }
    const tree = await listManifestTree(input.path)
    paths.push(...tree.files)
    for (const dir of tree.directories) directories.add(dir)
  }
  return { paths, directories, lost }
}

/** Whether the changed `path` can be read on its own: a manifest the last full read would have listed. */
const readableAlone = (inputs: ReadonlyArray<ManifestInput>, directories: ReadonlySet<string>, path: string) =>
  inputs.some((input) =>
    input._tag === "File"
      ? input.path === path
      : input._tag === "Directory" &&
        isInside(input.path, path) &&
        path !== input.path &&
        isManifestName(path) &&
        !isHiddenBelow(input.path, path) &&
        directories.has(dirname(path))
  )

/**
 * Reads every input, reusing `previous` where a file is unchanged or unreadable. With `changed`
 * (absolute paths), only those are read again, unless one of them needs a full read (a directory,
 * or a place the last full read did not enter). A file that had objects and reads empty keeps them
 * (and is listed in `emptied`) unless it is in `graceOver`: the caller reads it again once the
 * rewrite had time to finish.
 */
export const readManifests = (
  inputs: ReadonlyArray<ManifestInput>,
  previous: ManifestContents,
  changed?: ReadonlySet<string>,
  graceOver: ReadonlySet<string> = new Set()
): Effect.Effect<ManifestContents> =>
  Effect.promise(async () => {
    const emptied = new Set<string>()
    const files = new Map<string, FileObjects>()
    const partial = changed !== undefined && previous !== emptyContents && [...changed].every((path) => readableAlone(inputs, previous.directories, path))
    let paths: ReadonlyArray<string>
    let directories = previous.directories
    let lost = previous.lost
    if (partial) {
      for (const [file, objects] of previous.files) files.set(file, objects)
      paths = [...changed].sort()
    } else {
      const listed = await listInputs(inputs)
      paths = [...new Set(listed.paths)] // a file named and also inside a named directory is read once
      directories = listed.directories
      lost = listed.lost
      // A lost input's files keep what they held: a directory being replaced is not emptied.
      for (const [file, objects] of previous.files) {
        if (lost.some((root) => isInside(root, resolve(file)))) files.set(file, objects)
      }
      for (const input of inputs) {
        if (input._tag === "Text") files.set(input.name, previous.files.get(input.name) ?? parseFile(input.name, input.text, undefined))
      }
    }
    const reading = new Set(paths)
    let budget = MAX_TOTAL_BYTES - [...files].reduce((sum, [file, objects]) => sum + (reading.has(resolve(file)) ? 0 : objects.bytes), 0)
    // Read a few at a time, then take them in path order, so the total limit falls on the same files every time.
    for (let start = 0; start < paths.length; start += READ_CONCURRENCY) {
      const batch = paths.slice(start, start + READ_CONCURRENCY)
      const reads = await Promise.all(batch.map((path) => readManifestFile(path)))
      batch.forEach((path, index) => {
        const file = displayName(path)
        const read = reads[index]!
        const before = previous.files.get(file)
        if (read._tag === "Missing") return files.delete(file) // removed; the next event reads it again
        if (read._tag === "Refused") return files.set(file, unreadableFile(file, read.message, before))
        // Most likely being rewritten in place: keep its objects rather than remove them, and do not
        // wait here, so that the write's own event is read at once.
        if (read.text === "" && before !== undefined && before.objects.size > 0 && !graceOver.has(path)) {
          files.set(file, before)
          emptied.add(path)
          return
        }
        const bytes = Buffer.byteLength(read.text)
        if (bytes > budget) {
          return files.set(
            file,
            unreadableFile(
              file,
              `is not read: all manifest files together may hold ${mebibytes(MAX_TOTAL_BYTES)}, and the files before it already hold ${mebibytes(MAX_TOTAL_BYTES - budget)}; serve a fleet this big from a cluster`,
              before
            )
          )
        }
        budget -= bytes
        files.set(file, before?.text === read.text ? before : parseFile(file, read.text, before))
      })
    }
    return sortedContents(files, emptied, directories, lost)
  })

/** Where the inputs are, for messages: `manifests/examples, extra.yaml`. */
export const describeInputs = (inputs: ReadonlyArray<ManifestInput>) => inputs.map((input) => displayName(inputPath(input))).join(", ")

/** One problem per definition of `object` that `files` (in path order) override: the last one is used. */
export const duplicateProblems = (object: InputObject, files: ReadonlyArray<string>): Array<SourceProblem> => {
  const used = files.at(-1)!
  return files.slice(0, -1).map((other) => ({
    origin: used,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
    message: `is also defined in ${other}; the definition in ${used} is used, remove one of them`
  }))
}

/** All objects, later files overriding earlier ones; every overridden definition is reported. */
export const objectsOf = (
  contents: ManifestContents
): {
  readonly objects: ReadonlyArray<InputObject>
  readonly problems: ReadonlyArray<SourceProblem>
} => {
  const byId = new Map<string, { object: InputObject; files: Array<string> }>()
  for (const [file, { objects }] of contents.files) {
    for (const [id, object] of objects) {
      const earlier = byId.get(id)
      byId.set(id, { object, files: [...(earlier?.files ?? []), file] })
    }
  }
  const problems = [...byId.values()].flatMap(({ files, object }) => duplicateProblems(object, files))
  return { objects: [...byId.values()].map((entry) => entry.object), problems }
}
