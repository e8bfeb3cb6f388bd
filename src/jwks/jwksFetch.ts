// One fetch of a JWKS: an HTTP GET with a time limit and a size limit, whose
// body must be a key set the proxy will load. Failures say what went wrong in
// words an operator can act on, and never quote the body.
import { Effect, Schema } from "effect"
import { Agent, type Dispatcher, request } from "undici"
import { jwksFromText } from "./jwksDocument.ts"

/** Whole request, connection to last byte. */
export const JWKS_FETCH_TIMEOUT_MS = 10_000
export const JWKS_CONNECT_TIMEOUT_MS = 5_000
/** Larger bodies are refused unread: no identity provider publishes a key set this big. */
export const JWKS_MAX_BYTES = 1024 * 1024

export class JwksFetchError extends Schema.TaggedError<JwksFetchError>()("JwksFetchError", {
  message: Schema.String
}) {}

export interface FetchedJwks {
  /** Canonical JSON of the key set. */
  readonly jwks: string
  readonly keys: number
}

/** The connection pool of the fetcher; no keep-alive (fetches are minutes apart). */
export const jwksDispatcher = (): Agent => new Agent({ connect: { timeout: JWKS_CONNECT_TIMEOUT_MS } })

const causeText = (cause: unknown): string => {
  if (cause instanceof JwksFetchError) return cause.message
  const error = cause as { code?: string; message?: string; cause?: { code?: string; message?: string } }
  const code = error?.cause?.code ?? error?.code
  const message = error?.cause?.message ?? error?.message ?? String(cause)
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`
}

export const fetchJwks = (url: string, dispatcher: Dispatcher): Effect.Effect<FetchedJwks, JwksFetchError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await request(url, {
        method: "GET",
        dispatcher,
        signal,
        reset: true,
        headers: { accept: "application/json, application/jwk-set+json" }
      })
      if (response.statusCode !== 200) {
        await response.body.dump()
        throw new JwksFetchError({ message: `the identity provider answered HTTP ${response.statusCode} (expected 200)` })
      }
      const length = Number(response.headers["content-length"] ?? "0")
      if (length > JWKS_MAX_BYTES) {
        response.body.destroy()
        throw new JwksFetchError({ message: `the body is ${length} bytes, more than the 1 MiB a key set may have` })
      }
      const chunks: Array<Buffer> = []
      let size = 0
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length
        if (size > JWKS_MAX_BYTES) {
          response.body.destroy()
          throw new JwksFetchError({ message: "the body is more than the 1 MiB a key set may have" })
        }
        chunks.push(chunk as Buffer)
      }
      const document = jwksFromText(Buffer.concat(chunks).toString("utf8"))
      if (document._tag === "Invalid") throw new JwksFetchError({ message: document.message })
      return { jwks: document.jwks, keys: document.keys }
    },
    catch: (cause) => (cause instanceof JwksFetchError ? cause : new JwksFetchError({ message: `the request failed: ${causeText(cause)}` }))
  }).pipe(
    Effect.timeoutOrElse({
      duration: JWKS_FETCH_TIMEOUT_MS,
      orElse: () => Effect.fail(new JwksFetchError({ message: `no complete answer within ${JWKS_FETCH_TIMEOUT_MS / 1000} s` }))
    })
  )
