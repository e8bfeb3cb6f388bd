// The proxy's NACK detail: `error_detail.message` is a JSON array of
// `{"key": <xds name>, "error": …}` and `{"key": …, "warn": …}` entries.
// Warnings alone also arrive as error_detail, though the resource was applied.
import { Result, Schema } from "effect"

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

export const parseNack = (message: string): NackDetail => {
  const decoded = decodeEntries(message)
  if (Result.isFailure(decoded)) return { errors: [], warnings: [], unparsed: message }
  const errors: Array<NackEntry> = []
  const warnings: Array<NackEntry> = []
  for (const entry of decoded.success) {
    if (entry.error !== undefined) errors.push({ name: entry.key, message: entry.error })
    else if (entry.warn !== undefined) warnings.push({ name: entry.key, message: entry.warn })
  }
  return { errors, warnings, unparsed: undefined }
}
