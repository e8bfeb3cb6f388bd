// The proxy's NACK detail: `error_detail.message` is a JSON array of
// `{"key": <xds name>, "error": …}` and `{"key": …, "warn": …}` entries.
// Warnings alone also arrive as error_detail, though the resource was applied.
// The text is the client's: it is clipped before it is kept (status,
// config_dump) or logged, per entry and per NACK.
import { Result, Schema } from "effect"
import { clip, MAX_NACK_ENTRY_CHARS, MAX_NACK_TOTAL_CHARS } from "./limits.ts"

export interface NackEntry {
  readonly name: string
  readonly message: string
}

export interface NackDetail {
  readonly errors: ReadonlyArray<NackEntry>
  readonly warnings: ReadonlyArray<NackEntry>
  /** The message was not the JSON array we know: the whole response counts as rejected. */
  readonly unparsed: string | undefined
}

const Entry = Schema.Struct({
  key: Schema.String,
  error: Schema.optionalKey(Schema.String),
  warn: Schema.optionalKey(Schema.String)
})
const decodeEntries = Schema.decodeUnknownResult(Schema.fromJsonString(Schema.Array(Entry)))

/** Messages are clipped to MAX_NACK_ENTRY_CHARS each. */
export const parseNack = (message: string): NackDetail => {
  const decoded = decodeEntries(message)
  if (Result.isFailure(decoded)) return { errors: [], warnings: [], unparsed: clip(message, MAX_NACK_ENTRY_CHARS) }
  const errors: Array<NackEntry> = []
  const warnings: Array<NackEntry> = []
  for (const entry of decoded.success) {
    if (entry.error !== undefined) errors.push({ name: entry.key, message: clip(entry.error, MAX_NACK_ENTRY_CHARS) })
    else if (entry.warn !== undefined) warnings.push({ name: entry.key, message: clip(entry.warn, MAX_NACK_ENTRY_CHARS) })
  }
  return { errors, warnings, unparsed: undefined }
}

export const DROPPED_NACK_MESSAGE = `(message dropped: this NACK's messages exceeded ${MAX_NACK_TOTAL_CHARS} characters)`

/**
 * Keeps the messages of one NACK's entries (errors and warnings together) within
 * MAX_NACK_TOTAL_CHARS; a message repeated for many resources is counted once (it is one string).
 * Returns `entries` itself when nothing had to go.
 */
export const withinNackBudget = <A extends NackEntry>(entries: ReadonlyArray<A>): ReadonlyArray<A> => {
  const seen = new Set<string>()
  let total = 0
  let dropped = false
  const kept = entries.map((entry) => {
    if (seen.has(entry.message)) return entry
    if (total + entry.message.length > MAX_NACK_TOTAL_CHARS) {
      dropped = true
      return { ...entry, message: DROPPED_NACK_MESSAGE }
    }
    seen.add(entry.message)
    total += entry.message.length
    return entry
  })
  return dropped ? kept : entries
}

/** Names listed per message in a log line; the rest are counted. */
const NAMES_PER_MESSAGE = 10

/**
 * One log line for many entries: resources that got the same message share it
 * (`a, b and 3 more: message`), so a message sent for every resource is written once.
 */
export const describeNack = (entries: ReadonlyArray<NackEntry>): string => {
  const byMessage = new Map<string, Array<string>>()
  for (const entry of entries) {
    const names = byMessage.get(entry.message)
    if (names === undefined) byMessage.set(entry.message, [entry.name])
    else names.push(entry.name)
  }
  const parts = [...byMessage].map(([message, names]) => {
    const listed = names.slice(0, NAMES_PER_MESSAGE).join(", ")
    return `${names.length > NAMES_PER_MESSAGE ? `${listed} and ${names.length - NAMES_PER_MESSAGE} more` : listed}: ${message}`
  })
  return clip(parts.join("; "), 2 * MAX_NACK_TOTAL_CHARS)
}
