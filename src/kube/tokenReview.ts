// xDS authentication in a cluster: every stream's bearer token is checked
// with a TokenReview for agentgateway's audience, and the ServiceAccount it
// names must be the Gateway's. Verdicts are cached by a hash of the token
// (never the token itself), accepted and refused ones apart, so that a flood
// of made-up tokens cannot push out the proxies' good ones: accepted until
// shortly before the token expires, refused ones briefly, so that a proxy
// retrying fast cannot flood the API server. Failures to reach the API
// server are not cached. Reviews the cache cannot answer for new streams are
// rate-limited per peer address.
import { createHash } from "node:crypto"
import { Clock, Effect, Layer } from "effect"
import {
  checkGateway,
  MISSING_TOKEN,
  peerHost,
  principalOf,
  type ProxyPrincipal,
  XDS_AUDIENCE,
  XdsAuthenticator,
  XdsAuthUnavailable,
  type XdsGrant,
  XdsRateLimited,
  XdsUnauthenticated
} from "../xds/auth.ts"
import { KubeApi } from "./kubeApi.ts"

const ACCEPTED_TTL_MS = 5 * 60_000
const REFUSED_TTL_MS = 10_000
/** Per cache: accepted and refused verdicts each. */
export const MAX_CACHED_VERDICTS = 4096
/** TokenReviews one peer address may cause: a burst, then one per REVIEW_INTERVAL_MS. */
export const REVIEW_BURST = 10
export const REVIEW_INTERVAL_MS = 1000
/** Peer addresses whose review budget is remembered; the least recently seen are forgotten first. */
const MAX_PEERS = 4096

interface TokenReviewStatus {
  readonly authenticated?: boolean
  readonly user?: { readonly username?: string }
  readonly audiences?: ReadonlyArray<string>
  readonly error?: string
}

type Verdict = { readonly _tag: "Accepted"; readonly principal: ProxyPrincipal } | { readonly _tag: "Refused"; readonly message: string }

/** The `exp` claim of a JWT, in milliseconds, without verifying it (the TokenReview did that). */
export const tokenExpiry = (token: string): number | undefined => {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: unknown }
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined
  } catch {
    return undefined
  }
}

export const verdictOf = (status: TokenReviewStatus | undefined): Verdict => {
  if (status?.authenticated !== true) {
    return { _tag: "Refused", message: `the token was refused: ${status?.error ?? "not authenticated"}` }
  }
  if (!(status.audiences ?? []).includes(XDS_AUDIENCE)) {
    return { _tag: "Refused", message: `the token is not for audience ${XDS_AUDIENCE}` }
  }
  const principal = principalOf(status.user?.username)
  return principal === undefined
    ? { _tag: "Refused", message: `the token belongs to ${status.user?.username ?? "nobody"}, not to a ServiceAccount` }
    : { _tag: "Accepted", principal }
}

/** A map that forgets its oldest entries past `max` (Maps iterate in insertion order). */
class BoundedCache<A extends { readonly expires: number }> {
  private readonly entries = new Map<string, A>()
  private readonly max: number
  constructor(max: number) {
    this.max = max
  }
  get(key: string, now: number): A | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined || entry.expires > now) return entry
    this.entries.delete(key)
    return undefined
  }
  set(key: string, entry: A, now: number) {
    this.entries.delete(key)
    this.entries.set(key, entry)
    for (const [oldest, value] of this.entries) {
      if (this.entries.size <= this.max && value.expires > now) break
      this.entries.delete(oldest)
    }
  }
}

/** A token bucket per peer host: REVIEW_BURST reviews, refilled by one every REVIEW_INTERVAL_MS. */
class ReviewBudget {
  private readonly peers = new Map<string, { tokens: number; at: number }>()
  /** Takes one review from `host`'s budget; returns false when it has none left. */
  take(host: string, now: number): boolean {
    const known = this.peers.get(host)
    const tokens = known === undefined ? REVIEW_BURST : Math.min(REVIEW_BURST, known.tokens + (now - known.at) / REVIEW_INTERVAL_MS)
    // Re-inserted, so the least recently seen peer is the first to be forgotten.
    this.peers.delete(host)
    this.peers.set(host, { tokens: tokens >= 1 ? tokens - 1 : tokens, at: now })
    if (this.peers.size > MAX_PEERS) this.peers.delete(this.peers.keys().next().value!)
    return tokens >= 1
  }
}

export const tokenReviewAuthenticator = Layer.effect(
  XdsAuthenticator,
  Effect.gen(function* () {
    const api = yield* KubeApi
    const accepted = new BoundedCache<{ readonly principal: ProxyPrincipal; readonly expires: number }>(MAX_CACHED_VERDICTS)
    const refused = new BoundedCache<{ readonly message: string; readonly expires: number }>(MAX_CACHED_VERDICTS)
    const budget = new ReviewBudget()

    const review = Effect.fn("TokenReview.review")(function* (token: string, peer: string, useCache: boolean) {
      const now = yield* Clock.currentTimeMillis
      const id = createHash("sha256").update(token).digest("base64url")
      if (useCache) {
        const good = accepted.get(id, now)
        if (good !== undefined) return { _tag: "Accepted", principal: good.principal } satisfies Verdict
      }
      const bad = refused.get(id, now)
      if (bad !== undefined) return { _tag: "Refused", message: bad.message } satisfies Verdict
      const host = peerHost(peer)
      // Re-checks of served streams are paced by the server, not by the client: they do not count.
      if (useCache && !budget.take(host, now)) {
        return yield* new XdsRateLimited({
          message: `too many token reviews for streams from ${host} (at most ${REVIEW_BURST} at once, then one per ${REVIEW_INTERVAL_MS / 1000} s); retry later`
        })
      }
      const response = yield* api
        .request<{ status?: TokenReviewStatus }>("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
          contentType: "application/json",
          json: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [XDS_AUDIENCE] } }
        })
        .pipe(Effect.mapError((error) => new XdsAuthUnavailable({ message: `cannot review the token (${error.message}); retry` })))
      const verdict = verdictOf(response.status)
      if (verdict._tag === "Refused") refused.set(id, { message: verdict.message, expires: now + REFUSED_TTL_MS }, now)
      else {
        const expires = Math.min(now + ACCEPTED_TTL_MS, tokenExpiry(token) ?? Number.MAX_SAFE_INTEGER)
        accepted.set(id, { principal: verdict.principal, expires }, now)
      }
      return verdict
    })

    const grantFor = (useCache: boolean) =>
      Effect.fn("TokenReview.authenticate")(function* (token: string | undefined, peer: string) {
        if (token === undefined) return yield* new XdsUnauthenticated({ message: MISSING_TOKEN })
        const verdict = yield* review(token, peer, useCache)
        if (verdict._tag === "Refused") return yield* new XdsUnauthenticated({ message: verdict.message })
        const { principal } = verdict
        return {
          who: `ServiceAccount ${principal.namespace}/${principal.serviceAccount}`,
          permits: (gateway: string) => checkGateway(principal, gateway),
          expiresAt: tokenExpiry(token)
        } satisfies XdsGrant
      })

    return XdsAuthenticator.of({ authenticate: grantFor(true), reauthenticate: grantFor(false) })
  })
)
