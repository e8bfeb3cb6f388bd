// How long a served xDS stream may stay open. A token is checked when its
// stream opens; a revoked or expired one must not keep the stream, so the
// credentials are checked again every so often and at the token's expiry,
// and every stream is closed after a maximum age (jittered, so proxies
// started together do not reconnect together). Closing is cheap: the proxy
// reconnects and resumes with initial_resource_versions.
import { Clock, Effect, Random, Result } from "effect"
import type { XdsAuthError, XdsGrant } from "./auth.ts"
import type { StreamLimits } from "./limits.ts"

/** Why a stream is being closed, as the gRPC status the proxy gets. */
export interface Closing {
  readonly code: "UNAUTHENTICATED" | "PERMISSION_DENIED" | "UNAVAILABLE"
  readonly reason: string
}

const minutes = (ms: number) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`)

/**
 * Waits until the stream must close and says why. `recheck` authenticates the stream's
 * credentials afresh; `gateway` is what the stream serves.
 */
export const streamLifetime = Effect.fn("xds.streamLifetime")(function* (
  grant: XdsGrant,
  gateway: string,
  limits: StreamLimits,
  recheck: Effect.Effect<XdsGrant, XdsAuthError>
) {
  const openedAt = yield* Clock.currentTimeMillis
  const maxAge = Math.round(limits.maxStreamAgeMs * (1 - limits.maxStreamAgeJitter * (yield* Random.next)))
  const closeAt = openedAt + maxAge
  let expiresAt = grant.expiresAt
  // The next check: after `interval`, or at the token's expiry if that comes first (and is still ahead).
  const nextCheck = (from: number, interval: number) =>
    Math.min(from + interval, expiresAt !== undefined && expiresAt > from ? expiresAt : Number.POSITIVE_INFINITY)
  let checkAt = nextCheck(openedAt, limits.credentialRecheckMs)
  while (true) {
    const now = yield* Clock.currentTimeMillis
    if (now >= closeAt) {
      return {
        code: "UNAVAILABLE",
        reason: `the stream reached its maximum age (${minutes(maxAge)}); reconnect, resuming with initial_resource_versions`
      } satisfies Closing
    }
    // Woken early (or not due yet): sleep again rather than check early.
    if (now < checkAt) {
      yield* Effect.sleep(Math.min(closeAt, checkAt) - now)
      continue
    }
    const woke = now
    const verdict = yield* recheck.pipe(
      Effect.tap((fresh) => fresh.permits(gateway)),
      Effect.result
    )
    if (Result.isSuccess(verdict)) {
      expiresAt = verdict.success.expiresAt
      checkAt = nextCheck(woke, limits.credentialRecheckMs)
      continue
    }
    const error = verdict.failure
    switch (error._tag) {
      case "XdsUnauthenticated":
        return { code: "UNAUTHENTICATED", reason: `the stream's token is no longer accepted: ${error.message}` } satisfies Closing
      case "XdsPermissionDenied":
        return { code: "PERMISSION_DENIED", reason: error.message } satisfies Closing
      case "XdsAuthUnavailable":
      case "XdsRateLimited": {
        // Not knowing is no reason to close a working stream, until the token is certainly expired.
        if (expiresAt !== undefined && woke >= expiresAt) {
          return { code: "UNAUTHENTICATED", reason: `the stream's token expired, and could not be checked again: ${error.message}` } satisfies Closing
        }
        checkAt = nextCheck(woke, limits.authRetryMs)
      }
    }
  }
})
