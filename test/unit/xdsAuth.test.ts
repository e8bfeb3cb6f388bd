// xDS authentication without a cluster: headers and usernames parsed, a
// proxy confined to its own Gateway, TokenReview verdicts cached (accepted
// ones until shortly before expiry, refused ones briefly and apart, failures
// never), reviews rate-limited per peer address.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import { KubeApi, KubeApiError } from "../../src/kube/kubeApi.ts"
import { tokenExpiry, tokenReviewAuthenticator, verdictOf } from "../../src/kube/tokenReview.ts"
import { MAX_CACHED_VERDICTS, REVIEW_BURST } from "../../src/kube/tokenReview.ts"
import { bearerToken, checkGateway, isLoopbackAddress, peerHost, principalOf, XdsAuthenticator } from "../../src/xds/auth.ts"

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`

/** A KubeApi that answers TokenReviews from a table of tokens (which a test may change), and counts them. */
const fakeApi = (accounts: Record<string, string>, calls: Array<string>, down = { value: false }) =>
  KubeApi.layerTest(<A>(method: string, path: string, body?: { json: unknown }) => {
    const token = (body!.json as { spec: { token: string } }).spec.token
    calls.push(token)
    if (down.value) return Effect.fail(new KubeApiError({ method, path, status: 0, reason: "Unreachable", message: "connection refused" }))
    const username = accounts[token]
    return Effect.succeed(
      (username === undefined
        ? { status: { user: {}, error: "invalid bearer token" } }
        : { status: { authenticated: true, user: { username }, audiences: ["agentgateway"] } }) as A
    )
  })

const authorize = (token: string | undefined, gateway: string, peer = "10.0.0.1:40000") =>
  Effect.gen(function* () {
    const auth = yield* XdsAuthenticator
    return yield* Effect.result(
      auth.authenticate(token, peer).pipe(
        Effect.tap((grant) => grant.permits(gateway)),
        Effect.map((grant) => grant.who)
      )
    )
  })

const withReviews = (accounts: Record<string, string>, calls: Array<string>, down = { value: false }) =>
  Effect.provide(tokenReviewAuthenticator.pipe(Layer.provide(fakeApi(accounts, calls, down))))

describe("xDS authentication", () => {
  it("reads bearer tokens and ServiceAccount usernames", () => {
    assert.strictEqual(bearerToken("Bearer abc.def"), "abc.def")
    assert.strictEqual(bearerToken("bearer  abc "), "abc")
    assert.strictEqual(bearerToken("Basic abc"), undefined)
    assert.strictEqual(bearerToken(undefined), undefined)
    assert.deepStrictEqual(principalOf("system:serviceaccount:team:tools"), { namespace: "team", serviceAccount: "tools" })
    assert.strictEqual(principalOf("admin"), undefined)
    assert.strictEqual(principalOf("system:serviceaccount:team"), undefined)
  })

  it("confines a proxy to the Gateway named like its ServiceAccount", () => {
    const principal = { namespace: "team", serviceAccount: "a" }
    assert.isTrue(Result.isSuccess(Effect.runSync(Effect.result(checkGateway(principal, "team/a")))))
    const denied = Effect.runSync(Effect.result(checkGateway(principal, "team/b")))
    assert.isTrue(Result.isFailure(denied) && denied.failure._tag === "XdsPermissionDenied" && denied.failure.message.includes("team/b"))
    assert.isTrue(Result.isFailure(Effect.runSync(Effect.result(checkGateway(principal, "other/a")))))
  })

  it("accepts only authenticated ServiceAccount tokens for agentgateway's audience", () => {
    assert.strictEqual(verdictOf({ authenticated: false, error: "expired" })._tag, "Refused")
    assert.strictEqual(verdictOf({ authenticated: true, user: { username: "system:serviceaccount:a:b" }, audiences: ["kubernetes"] })._tag, "Refused")
    assert.strictEqual(verdictOf({ authenticated: true, user: { username: "alice" }, audiences: ["agentgateway"] })._tag, "Refused")
    assert.deepStrictEqual(verdictOf({ authenticated: true, user: { username: "system:serviceaccount:a:b" }, audiences: ["agentgateway"] }), {
      _tag: "Accepted",
      principal: { namespace: "a", serviceAccount: "b" }
    })
    assert.strictEqual(tokenExpiry(jwt({ exp: 1000 })), 1_000_000)
    assert.strictEqual(tokenExpiry("not-a-jwt"), undefined)
  })

  it.effect("caches accepted tokens, briefly refused ones, and never an unreachable API server", () => {
    const calls: Array<string> = []
    const down = { value: false }
    const good = jwt({ exp: 3600 })
    return Effect.gen(function* () {
      assert.isTrue(Result.isSuccess(yield* authorize(good, "team/a")))
      // The cached identity is still checked against the Gateway asked for.
      const other = yield* authorize(good, "team/b")
      assert.isTrue(Result.isFailure(other) && other.failure._tag === "XdsPermissionDenied")
      assert.deepStrictEqual(calls, [good])

      const missing = yield* authorize(undefined, "team/a")
      assert.isTrue(Result.isFailure(missing) && missing.failure._tag === "XdsUnauthenticated" && missing.failure.message.includes("no bearer token"))
      assert.strictEqual(calls.length, 1)

      const bad = yield* authorize("garbage", "team/a")
      assert.isTrue(Result.isFailure(bad) && bad.failure._tag === "XdsUnauthenticated" && bad.failure.message.includes("invalid bearer token"))
      yield* authorize("garbage", "team/a")
      assert.deepStrictEqual(calls, [good, "garbage"])
      yield* TestClock.adjust("11 seconds")
      yield* authorize("garbage", "team/a")
      assert.deepStrictEqual(calls, [good, "garbage", "garbage"])

      down.value = true
      const unavailable = yield* authorize(jwt({ exp: 7200 }), "team/a")
      assert.isTrue(Result.isFailure(unavailable) && unavailable.failure._tag === "XdsAuthUnavailable")
      down.value = false
      assert.isTrue(Result.isSuccess(yield* authorize(jwt({ exp: 7200 }), "team/a")))
      assert.strictEqual(calls.length, 5)

      // Accepted tokens are reviewed again after five minutes, and never trusted past their expiry.
      yield* TestClock.adjust("5 minutes")
      yield* authorize(good, "team/a")
      assert.strictEqual(calls.length, 6)
      yield* TestClock.adjust("1 hour")
      yield* authorize(good, "team/a")
      assert.strictEqual(calls.length, 7)
    }).pipe(
      Effect.provide(
        tokenReviewAuthenticator.pipe(
          Layer.provide(
            fakeApi(
              {
                [good]: "system:serviceaccount:team:a",
                [jwt({ exp: 7200 })]: "system:serviceaccount:team:a"
              },
              calls,
              down
            )
          )
        )
      )
    )
  })

  it.effect("keeps accepted verdicts apart: a flood of made-up tokens does not push a proxy's token out", () => {
    const calls: Array<string> = []
    const good = jwt({ exp: 3600, sub: "a" })
    return Effect.gen(function* () {
      assert.isTrue(Result.isSuccess(yield* authorize(good, "team/a")))
      // From many addresses, so that no rate limit stops the flood.
      for (let i = 0; i < MAX_CACHED_VERDICTS + 100; i++) yield* authorize(`garbage-${i}`, "team/a", `10.1.${i >> 8}.${i & 255}:1`)
      assert.strictEqual(calls.length, MAX_CACHED_VERDICTS + 101)
      assert.isTrue(Result.isSuccess(yield* authorize(good, "team/a")))
      assert.strictEqual(calls.length, MAX_CACHED_VERDICTS + 101, "the good token was reviewed again")
    }).pipe(withReviews({ [good]: "system:serviceaccount:team:a" }, calls))
  })

  it.effect(`reviews at most ${REVIEW_BURST} unknown tokens per peer address at once, then one a second`, () => {
    const calls: Array<string> = []
    const good = jwt({ exp: 3600 })
    return Effect.gen(function* () {
      assert.isTrue(Result.isSuccess(yield* authorize(good, "team/a", "10.0.0.1:1")))
      for (let i = 1; i < REVIEW_BURST; i++) yield* authorize(`garbage-${i}`, "team/a", `10.0.0.1:${i}`)
      assert.strictEqual(calls.length, REVIEW_BURST)
      const limited = yield* authorize("garbage-more", "team/a", "10.0.0.1:999")
      assert.isTrue(Result.isFailure(limited) && limited.failure._tag === "XdsRateLimited")
      if (Result.isFailure(limited)) {
        assert.strictEqual(limited.failure.message, "too many token reviews for streams from 10.0.0.1 (at most 10 at once, then one per 1 s); retry later")
      }
      assert.strictEqual(calls.length, REVIEW_BURST, "a limited review reached the API server")
      // What the caches know is still answered, and other addresses have their own budget.
      assert.isTrue(Result.isSuccess(yield* authorize(good, "team/a", "10.0.0.1:1")))
      const cachedRefusal = yield* authorize("garbage-1", "team/a", "10.0.0.1:1")
      assert.isTrue(Result.isFailure(cachedRefusal) && cachedRefusal.failure._tag === "XdsUnauthenticated")
      assert.isTrue(Result.isFailure(yield* authorize("garbage-other", "team/a", "10.0.0.2:1")))
      assert.strictEqual(calls.length, REVIEW_BURST + 1)
      yield* TestClock.adjust("1 second")
      const later = yield* authorize("garbage-later", "team/a", "10.0.0.1:5")
      assert.isTrue(Result.isFailure(later) && later.failure._tag === "XdsUnauthenticated")
      assert.strictEqual(calls.length, REVIEW_BURST + 2)
    }).pipe(withReviews({ [good]: "system:serviceaccount:team:a" }, calls))
  })

  it.effect("re-authentication reviews the token again, and says when it expires", () => {
    const calls: Array<string> = []
    const good = jwt({ exp: 3600 })
    const accounts: Record<string, string> = { [good]: "system:serviceaccount:team:a", [jwt({ exp: 60 })]: "system:serviceaccount:team:a" }
    return Effect.gen(function* () {
      const auth = yield* XdsAuthenticator
      const grant = yield* auth.authenticate(good, "10.0.0.1:1")
      assert.strictEqual(grant.expiresAt, 3_600_000)
      assert.strictEqual(grant.who, "ServiceAccount team/a")
      yield* auth.reauthenticate(good, "10.0.0.1:1")
      assert.strictEqual(calls.length, 2)
      // Re-checks are paced by the server: they never use up the peer's review budget.
      for (let i = 0; i < 20; i++) yield* auth.reauthenticate(good, "10.0.0.1:1")
      assert.isTrue(Result.isSuccess(yield* Effect.result(auth.authenticate(jwt({ exp: 60 }), "10.0.0.1:2"))))
      assert.strictEqual(calls.length, 23)
      // Revoked (its ServiceAccount deleted, say): the next re-check says so, though the cache would not have.
      delete accounts[good]
      const revoked = yield* Effect.result(auth.reauthenticate(good, "10.0.0.1:1"))
      assert.isTrue(Result.isFailure(revoked) && revoked.failure._tag === "XdsUnauthenticated")
    }).pipe(withReviews(accounts, calls))
  })

  it("reads peer hosts and loopback addresses", () => {
    assert.strictEqual(peerHost("10.0.0.1:5000"), "10.0.0.1")
    assert.strictEqual(peerHost("ipv4:10.0.0.1:5000"), "10.0.0.1")
    assert.strictEqual(peerHost("[fd00::1]:5000"), "fd00::1")
    assert.strictEqual(peerHost("ipv6:[fd00::1]:5000"), "fd00::1")
    assert.strictEqual(peerHost("fd00::1"), "fd00::1")
    for (const address of ["127.0.0.1:9978", "127.1.2.3:0", "localhost:9978", "[::1]:9978"]) assert.isTrue(isLoopbackAddress(address), address)
    for (const address of ["0.0.0.0:9978", "[::]:9978", "10.0.0.1:9978", "agentplane.svc:9978", "128.0.0.1:1"])
      assert.isFalse(isLoopbackAddress(address), address)
  })
})
