// xDS authentication in a cluster: every stream's bearer token is checked
// with a TokenReview for agentgateway's audience, and the ServiceAccount it
// names must be the Gateway's. Verdicts are cached by a hash of the token
// (never the token itself): accepted ones until shortly before the token
// expires, refused ones briefly, so a proxy retrying fast cannot flood the
// API server. Failures to reach the API server are not cached.
import { createHash } from "node:crypto"
import { Clock, Effect, Layer } from "effect"
import {
  checkGateway,
  MISSING_TOKEN,
  principalOf,
  type ProxyPrincipal,
  XDS_AUDIENCE,
  XdsAuthenticator,
  XdsAuthUnavailable,
  XdsUnauthenticated
} from "../xds/auth.ts"
import { KubeApi } from "./kubeApi.ts"

const ACCEPTED_TTL_MS = 5 * 60_000
const REFUSED_TTL_MS = 10_000
const MAX_ENTRIES = 4096

interface TokenReviewStatus {
  readonly authenticated?: boolean
  readonly user?: { readonly username?: string }
  readonly audiences?: ReadonlyArray<string>
  readonly error?: string
}

type Verdict =
  | { readonly _tag: "Accepted"; readonly principal: ProxyPrincipal }
  | { readonly _tag: "Refused"; readonly message: string }

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

export const tokenReviewAuthenticator = Layer.effect(
  XdsAuthenticator,
  Effect.gen(function*() {
    const api = yield* KubeApi
    const cache = new Map<string, { readonly verdict: Verdict; readonly expires: number }>()

    const review = Effect.fn("TokenReview.review")(function*(token: string) {
      const now = yield* Clock.currentTimeMillis
      const id = createHash("sha256").update(token).digest("base64url")
      const cached = cache.get(id)
      if (cached !== undefined && cached.expires > now) return cached.verdict
      const response = yield* api.request<{ status?: TokenReviewStatus }>("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        contentType: "application/json",
        json: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [XDS_AUDIENCE] } }
      }).pipe(Effect.mapError((error) => new XdsAuthUnavailable({ message: `cannot review the token (${error.message}); retry` })))
      const verdict = verdictOf(response.status)
      const expires = verdict._tag === "Refused"
        ? now + REFUSED_TTL_MS
        : Math.min(now + ACCEPTED_TTL_MS, tokenExpiry(token) ?? Number.MAX_SAFE_INTEGER)
      cache.delete(id)
      cache.set(id, { verdict, expires })
      // Oldest first: Maps iterate in insertion order.
      for (const [key, entry] of cache) {
        if (cache.size <= MAX_ENTRIES && entry.expires > now) break
        cache.delete(key)
      }
      return verdict
    })

    return XdsAuthenticator.of({
      authorize: Effect.fn("TokenReview.authorize")(function*(token: string | undefined, gateway: string) {
        if (token === undefined) return yield* new XdsUnauthenticated({ message: MISSING_TOKEN })
        const verdict = yield* review(token)
        if (verdict._tag === "Refused") return yield* new XdsUnauthenticated({ message: verdict.message })
        yield* checkGateway(verdict.principal, gateway)
        return `ServiceAccount ${verdict.principal.namespace}/${verdict.principal.serviceAccount}`
      })
    })
  })
)
