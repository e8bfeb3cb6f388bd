// Parses the text of one manifest file into decoded objects. A file that does
// not parse keeps its last readable content; an object that does not decode
// keeps its last good version. Both are reported, and nothing else is lost.
// A bad document (a YAML error, an alias that does not resolve or expands too
// far) is a problem of that document, never of the whole input.
import { parseAllDocuments } from "yaml"
import { decodeObject, type InputObject } from "../api/objects.ts"
import type { SourceProblem } from "../world/source.ts"
import { objectId } from "../world/world.ts"

export interface FileObjects {
  /** Objects of one file, by identity, from its last readable content. */
  readonly objects: ReadonlyMap<string, InputObject>
  /** Parsed documents by their text: an edit re-parses only the documents it touched. */
  readonly documents: ReadonlyMap<string, ParsedChunk>
  /** The text they were read from: an unchanged file is not parsed again. */
  readonly text: string
  /** Bytes the file held when read, counted against the limit of all files together. */
  readonly bytes: number
  readonly problems: ReadonlyArray<SourceProblem>
  readonly ignored: ReadonlyArray<string>
}

/** One `---`-separated piece of a file, parsed on its own. */
export interface ParsedChunk {
  readonly values: ReadonlyArray<unknown>
  readonly errors: ReadonlyArray<{ readonly offset: number; readonly message: string }>
}

/**
 * Aliases one document may expand. The YAML library counts expansions against this bound, so
 * an alias bomb (each level doubling the last) fails fast as a problem of its document instead of
 * growing until the process runs out of memory.
 */
export const MAX_ALIAS_EXPANSIONS = 100

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

const firstLine = (message: string) => (message.split("\n")[0] ?? message).replace(/:$/, "")

const parseChunk = (chunk: string): ParsedChunk => {
  const documents = parseAllDocuments(chunk, { prettyErrors: true })
  const list = Array.isArray(documents) ? documents : [documents]
  const values: Array<unknown> = []
  const errors: Array<{ offset: number; message: string }> = []
  list.forEach((document, offset) => {
    for (const error of document.errors) errors.push({ offset, message: firstLine(error.message) })
    if (document.errors.length > 0) return values.push(null)
    try {
      values.push(document.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS }) as unknown)
    } catch (error) {
      // An alias that names no anchor, or one that expands past the bound.
      const message = error instanceof Error ? firstLine(error.message) : String(error)
      errors.push({ offset, message: /alias count/i.test(message) ? `aliases expand more than ${MAX_ALIAS_EXPANSIONS} times; expand them by hand` : message })
      values.push(null)
    }
  })
  return { values, errors }
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

/** `kubectl get -o yaml` writes a `v1 List`: its items are objects like any other. */
const listItems = (raw: unknown): ReadonlyArray<unknown> | undefined => {
  if (typeof raw !== "object" || raw === null) return undefined
  const value = raw as Record<string, unknown>
  if (value["kind"] !== "List" || value["apiVersion"] !== "v1") return undefined
  return Array.isArray(value["items"]) ? value["items"] : []
}

const clusterScoped = (kind: string) => kind === "GatewayClass" || kind === "Namespace"

/** Where a value sits in the file: its document and, inside a List, its item. */
interface Place {
  readonly document: number
  readonly item?: number
}

const describePlace = (place: Place) => `document ${place.document + 1}${place.item === undefined ? "" : ` (items[${place.item}])`}`

export const parseFile = (file: string, text: string, previous: FileObjects | undefined): FileObjects => {
  const problems: Array<SourceProblem> = []
  const ignored = new Set<string>()
  const chunks = new Map<string, ParsedChunk>()
  const values: Array<unknown> = []
  const badDocuments = new Set<number>()
  for (const chunk of splitDocuments(text)) {
    const parsed = chunks.get(chunk) ?? previous?.documents.get(chunk) ?? parseChunk(chunk)
    chunks.set(chunk, parsed)
    for (const error of parsed.errors) {
      const document = values.length + error.offset
      badDocuments.add(document)
      problems.push({
        origin: file,
        document,
        message: `is not valid YAML: ${error.message}${previous === undefined ? "" : "; the file's last readable content is still served"}`
      })
    }
    values.push(...parsed.values)
  }
  // Most likely mid-edit: the whole file keeps what it last held, so no half of an edit is served.
  if (badDocuments.size > 0) {
    return {
      objects: previous?.objects ?? new Map(),
      documents: previous?.documents ?? new Map(),
      text,
      bytes: Buffer.byteLength(text),
      problems,
      ignored: []
    }
  }
  const objects = new Map<string, InputObject>()
  const placeOf = new Map<string, Place>()
  const take = (raw: unknown, place: Place) => {
    if (raw === null || raw === undefined) return
    const outcome = decodeCached(raw)
    switch (outcome._tag) {
      case "Decoded": {
        const id = objectId(outcome.object)
        const earlier = placeOf.get(id)
        if (earlier !== undefined) {
          problems.push({
            origin: file,
            document: place.document,
            kind: outcome.object.kind,
            ...(clusterScoped(outcome.object.kind) ? {} : { namespace: outcome.object.metadata.namespace ?? "default" }),
            name: outcome.object.metadata.name,
            message: `is also defined in ${describePlace(earlier)} of this file; this later definition is used, remove one of them`
          })
        }
        objects.set(id, outcome.object)
        placeOf.set(id, place)
        break
      }
      case "Ignored":
        ignored.add(`${outcome.apiVersion} ${outcome.kind}`)
        break
      case "Invalid": {
        const id =
          outcome.name === undefined
            ? undefined
            : clusterScoped(outcome.kind)
              ? `${outcome.kind}/${outcome.name}`
              : `${outcome.kind}/${outcome.namespace ?? "default"}/${outcome.name}`
        const kept = id === undefined ? undefined : previous?.objects.get(id)
        if (kept !== undefined && id !== undefined) objects.set(id, kept)
        for (const issue of outcome.issues) {
          problems.push({
            origin: file,
            document: place.document,
            kind: outcome.kind,
            ...(clusterScoped(outcome.kind) ? {} : { namespace: outcome.namespace ?? "default" }),
            name: outcome.name ?? "(unnamed)",
            // An unnamed List item is found by its index.
            field: outcome.name === undefined && place.item !== undefined ? `items[${place.item}].${issue.field}` : issue.field,
            message: `${issue.message}${kept === undefined ? "; the object is not used until it is fixed" : "; its last good version is still served"}`
          })
        }
      }
    }
  }
  values.forEach((raw, document) => {
    const items = listItems(raw)
    if (items === undefined) return take(raw, { document })
    items.forEach((item, index) => take(item, { document, item: index }))
  })
  return { objects, documents: chunks, text, bytes: Buffer.byteLength(text), problems, ignored: [...ignored] }
}

/** A file that could not be read as a whole (too big, not a regular file): it keeps what it last held. */
export const unreadableFile = (file: string, message: string, previous: FileObjects | undefined): FileObjects => ({
  objects: previous?.objects ?? new Map(),
  documents: previous?.documents ?? new Map(),
  text: previous?.text ?? "",
  bytes: previous?.bytes ?? 0,
  problems: [
    {
      origin: file,
      message: `${message}${previous === undefined || previous.objects.size === 0 ? "" : "; its last readable content is still served"}`
    }
  ],
  ignored: []
})
