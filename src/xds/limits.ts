// What the xDS server keeps of what a client sends, and for how long it
// waits. Everything a client chooses (node id, NACK text, type URLs) is
// clipped before it is stored or logged, so that one client's bytes cannot
// grow memory, logs or config_dump; README's "Limits" table lists each cap.

/** Node ids longer than this are clipped (they are stored per stream, logged and shown in config_dump). */
export const MAX_NODE_ID_CHARS = 256

/** A Kubernetes namespace is a DNS label; a Gateway name a DNS subdomain. */
export const MAX_NAMESPACE_CHARS = 63
export const MAX_GATEWAY_NAME_CHARS = 253

/** Per refused or warned resource, what is kept of the proxy's message. */
export const MAX_NACK_ENTRY_CHARS = 1024
/** Per NACK, all messages together (stored and logged); entries past it keep only a marker. */
export const MAX_NACK_TOTAL_CHARS = 16 * 1024

/** Distinct type URLs one stream may subscribe to; agentgateway uses two. */
export const MAX_TYPES_PER_STREAM = 16
/** Longer type URLs close the stream: no type we serve is anywhere near as long. */
export const MAX_TYPE_URL_CHARS = 256

/** How the xDS server times its streams; configurable so that tests need not wait. */
export interface StreamLimits {
  /** A stream that sends no request this long after it opened is closed. */
  readonly firstRequestTimeoutMs: number
  /**
   * Streams are closed after about this long (minus up to `maxStreamAgeJitter` of it, so that
   * proxies started together do not reconnect together); the proxy reconnects and resumes with
   * `initial_resource_versions`, and its credentials are checked afresh.
   */
  readonly maxStreamAgeMs: number
  readonly maxStreamAgeJitter: number
  /** How often a served stream's credentials are checked afresh (and at the token's expiry). */
  readonly credentialRecheckMs: number
  /** After a re-check of a stream's credentials could not reach the API server, try again this much later. */
  readonly authRetryMs: number
}

export const defaultStreamLimits: StreamLimits = {
  firstRequestTimeoutMs: 15_000,
  maxStreamAgeMs: 30 * 60_000,
  maxStreamAgeJitter: 0.1,
  credentialRecheckMs: 5 * 60_000,
  authRetryMs: 30_000
}

/**
 * `text` if it has at most `max` characters, else its first `max` characters and a marker with
 * its full size, so that a reader sees something was cut.
 */
export const clip = (text: string, max: number): string => {
  if (text.length <= max) return text
  // Do not split a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max
  // A copy, not `slice`'s view: V8 keeps the whole parent string alive behind a slice.
  const head = Buffer.from(text.slice(0, end), "utf8").toString("utf8")
  return `${head}…(truncated, ${Buffer.byteLength(text, "utf8")} bytes)`
}
