// Reads a directory of YAML manifests into decoded objects. A file that does
// not parse keeps its last readable content; an object that does not decode
// keeps its last good version. Both are reported, and nothing else is lost.
import { readFileSync, statSync } from "node:fs"
import { readdir, stat } from "node:fs/promises"
import { join, relative } from "node:path"
import { Effect } from "effect"
import { parseAllDocuments } from "yaml"
import { decodeObject, type InputObject } from "../api/objects.ts"
import { SourceError, type SourceProblem } from "../api/source.ts"
import { objectId } from "../translate/world.ts"

export interface FileObjects {
  /** Objects of one file, by identity, from its last readable content. */
  readonly objects: ReadonlyMap<string, InputObject>
  /** Parsed documents by their text: an edit re-parses only the documents it touched. */
  readonly documents: ReadonlyMap<string, ParsedChunk>
  /** The text they were read from: an unchanged file is not parsed again. */
  readonly text: string
  readonly problems: ReadonlyArray<SourceProblem>
  readonly ignored: ReadonlyArray<string>
}

export interface DirectoryContents {
  readonly files: ReadonlyMap<string, FileObjects>
  readonly problems: ReadonlyArray<SourceProblem>
  /** Kinds present in the files that agentplane does not read. */
  readonly ignoredKinds: ReadonlyArray<string>
  /**
   * Paths that had objects and read empty: most likely rewritten in place (truncated, then
   * written). They keep their objects until read again after `REWRITE_GRACE_MS`.
   */
  readonly emptied: ReadonlySet<string>
}

export const emptyContents: DirectoryContents = { files: new Map(), problems: [], ignoredKinds: [], emptied: new Set() }

/** How long an emptied file gets to be written again before its objects are removed. */
export const REWRITE_GRACE_MS = 25

const isManifest = (name: string) => name.endsWith(".yaml") || name.endsWith(".yml")

/** Hidden paths are skipped: a mounted ConfigMap keeps a second copy of every file under `..data`. */
const isHidden = (dir: string, path: string) => relative(dir, path).split(/[\\/]/).some((segment) => segment.startsWith("."))

const listManifests = async (dir: string): Promise<Array<string>> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const paths: Array<string> = []
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name)
    if (!isManifest(entry.name) || isHidden(dir, path)) continue
    // ConfigMap files are symbolic links; follow them.
    const isFile = entry.isFile() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile() === true)
    if (isFile) paths.push(path)
  }
  return paths.sort()
}

/** One `---`-separated piece of a file, parsed on its own. */
interface ParsedChunk {
  readonly values: ReadonlyArray<unknown>
  readonly errors: ReadonlyArray<{ readonly offset: number; readonly message: string }>
}

/**
 * Splits a YAML stream at its document markers. A line that starts with `---` followed by a space
 * or its end always starts a document (YAML forbids it inside content), so each piece parses on
 * its own exactly as it would in the whole stream. Leading comments join the first document.
 */
export const splitDocuments = (text: string): Array<string> => {
  // Found with one regular expression over the text rather than line by line: this runs on every
  // edit, over the whole file.
  const chunks: Array<string> = []
  let start = 0
  for (const match of text.matchAll(DOCUMENT_MARKER)) {
    const marker = match[0].startsWith("\n") ? match.index + 1 : match.index
    // A marker only ends a piece that has content (or began with a marker itself): leading
    // comments and blank lines stay with the first document.
    if (marker > start && (startsWithMarker(text, start) || HAS_CONTENT.test(text.slice(start, marker)))) {
      // The line break before the marker belongs to neither piece (CRLF too: a lone CR would be content).
      chunks.push(text.slice(start, text[marker - 2] === "\r" ? marker - 2 : marker - 1))
      start = marker
    }
  }
  chunks.push(text.slice(start))
  return chunks
}

/** `---` at the start of a line, followed by a space, a tab, the line's end or the text's end. */
const DOCUMENT_MARKER = /(?:^|\n)---(?=[ \t\r\n]|$)/g
/** A line whose first non-blank character does not start a comment. */
const HAS_CONTENT = /(?:^|\n)\s*[^\s#]/

const startsWithMarker = (text: string, index: number) => text.startsWith("---", index) && /^---(?:[ \t\r\n]|$)/.test(text.slice(index, index + 4))

const parseChunk = (chunk: string): ParsedChunk => {
  const documents = parseAllDocuments(chunk, { prettyErrors: true })
  const list = Array.isArray(documents) ? documents : [documents]
  return {
    values: list.map((document) => document.toJS() as unknown),
    errors: list.flatMap((document, offset) =>
      document.errors.map((error) => ({ offset, message: (error.message.split("\n")[0] ?? error.message).replace(/:$/, "") }))
    )
  }
}

/** Decodings by parsed value: an unchanged document keeps its decoded object, and its identity. */
const decodings = new WeakMap<object, ReturnType<typeof decodeObject>>()

const decodeCached = (raw: unknown) => {
  if (typeof raw !== "object" || raw === null) return decodeObject(raw)
  const cached = decodings.get(raw)
  if (cached !== undefined) return cached
  const outcome = decodeObject(raw)
  decodings.set(raw, outcome)
  return outcome
}

const parseFile = (file: string, text: string, previous: FileObjects | undefined): FileObjects => {
  const problems: Array<SourceProblem> = []
  const ignored = new Set<string>()
  const chunks = new Map<string, ParsedChunk>()
  const values: Array<unknown> = []
  const syntaxErrors: Array<{ index: number; message: string }> = []
  for (const chunk of splitDocuments(text)) {
    const parsed = chunks.get(chunk) ?? previous?.documents.get(chunk) ?? parseChunk(chunk)
    chunks.set(chunk, parsed)
    for (const error of parsed.errors) syntaxErrors.push({ index: values.length + error.offset, message: error.message })
    values.push(...parsed.values)
  }
  if (syntaxErrors.length > 0) {
    for (const error of syntaxErrors) {
      problems.push({
        origin: file,
        document: error.index,
        message: `is not valid YAML: ${error.message}${previous === undefined ? "" : "; the file's last readable content is still served"}`
      })
    }
    return { objects: previous?.objects ?? new Map(), documents: previous?.documents ?? new Map(), text, problems, ignored: [] }
  }
  const objects = new Map<string, InputObject>()
  values.forEach((raw, index) => {
    if (raw === null || raw === undefined) return
    const outcome = decodeCached(raw)
    switch (outcome._tag) {
      case "Decoded":
        objects.set(objectId(outcome.object), outcome.object)
        break
      case "Ignored":
        ignored.add(`${outcome.apiVersion} ${outcome.kind}`)
        break
      case "Invalid": {
        const id = outcome.name === undefined
          ? undefined
          : ["GatewayClass", "Namespace"].includes(outcome.kind)
          ? `${outcome.kind}/${outcome.name}`
          : `${outcome.kind}/${outcome.namespace ?? "default"}/${outcome.name}`
        const kept = id === undefined ? undefined : previous?.objects.get(id)
        if (kept !== undefined && id !== undefined) objects.set(id, kept)
        for (const issue of outcome.issues) {
          problems.push({
            origin: file,
            document: index,
            kind: outcome.kind,
            ...(outcome.kind === "GatewayClass" || outcome.kind === "Namespace" ? {} : { namespace: outcome.namespace ?? "default" }),
            name: outcome.name ?? "(unnamed)",
            field: issue.field,
            message: `${issue.message}${kept === undefined ? "; the object is not used until it is fixed" : "; its last good version is still served"}`
          })
        }
      }
    }
  })
  return { objects, documents: chunks, text, problems, ignored: [...ignored] }
}

/**
 * Read synchronously: manifests are small and in the page cache, so this takes microseconds, while
 * a round trip through libuv's thread pool adds a millisecond or more to every edit under load.
 */
const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const contentsOf = (files: Map<string, FileObjects>, emptied: ReadonlySet<string>): DirectoryContents => {
  const sorted = new Map([...files].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
  return {
    files: sorted,
    problems: [...sorted.values()].flatMap((file) => file.problems),
    ignoredKinds: [...new Set([...sorted.values()].flatMap((file) => file.ignored))].sort(),
    emptied
  }
}

/**
 * Reads every `*.yaml`/`*.yml` below `dir`, reusing `previous` where a file is unchanged or
 * unreadable. With `changed` (absolute paths of changed files), only those are read again.
 * A file that had objects and reads empty keeps them (and is listed in `emptied`) unless it is
 * in `graceOver`: the caller reads it again once the rewrite had time to finish.
 */
export const readDirectory = (
  dir: string,
  previous: DirectoryContents,
  changed?: ReadonlySet<string>,
  graceOver: ReadonlySet<string> = new Set()
) =>
  Effect.tryPromise({
    try: async (): Promise<DirectoryContents> => {
      const info = statSync(dir)
      if (!info.isDirectory()) throw new Error(`${dir} is not a directory`)
      const nameOf = (path: string) => relative(process.cwd(), path) || path
      const emptied = new Set<string>()
      const read = async (path: string, files: Map<string, FileObjects>) => {
        const file = nameOf(path)
        const text = readText(path)
        const before = previous.files.get(file)
        // Most likely being rewritten in place: keep its objects rather than remove them, and
        // do not wait here, so that the write's own event is read at once.
        if (text === "" && before !== undefined && before.objects.size > 0 && !graceOver.has(path)) {
          files.set(file, before)
          emptied.add(path)
          return
        }
        if (text === undefined) {
          files.delete(file) // removed (or removed between listing and reading; the next event re-reads)
          return
        }
        files.set(file, before?.text === text ? before : parseFile(file, text, before))
      }
      const files = new Map<string, FileObjects>()
      if (changed !== undefined && [...changed].every((path) => isManifest(path))) {
        for (const [file, objects] of previous.files) files.set(file, objects)
        for (const path of changed) {
          if (isHidden(dir, path)) continue
          await read(path, files)
        }
        return contentsOf(files, emptied)
      }
      for (const path of await listManifests(dir)) await read(path, files)
      return contentsOf(files, emptied)
    },
    catch: (cause) =>
      new SourceError({
        message: `cannot read manifests from ${dir}: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  })

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
export const objectsOf = (contents: DirectoryContents): {
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
