// xDS authentication without a cluster: headers and usernames parsed, a
// proxy confined to its own Gateway, TokenReview verdicts cached (accepted
// ones until shortly before expiry, refused ones briefly, failures never).
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import { KubeApi, KubeApiError } from "../../src/kube/kubeApi.ts"
import { tokenExpiry, tokenReviewAuthenticator, verdictOf } from "../../src/kube/tokenReview.ts"
import { bearerToken, checkGateway, principalOf, XdsAuthenticator } from "../../src/xds/auth.ts"

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`

/** A KubeApi that answers TokenReviews from a table of tokens, and counts them. */
const fakeApi = (accounts: Record<string, string>, calls: Array<string>, down = { value: false }) =>
  Layer.succeed(KubeApi, KubeApi.of({
    config: undefined as never,
    request: <A>(method: string, path: string, body?: { json: unknown }) => {
      const token = (body?.json as { spec: { token: string } }).spec.token
      calls.push(token)
      if (down.value) return Effect.fail(new KubeApiError({ method, path, status: 0, reason: "Unreachable", message: "connection refused" }))
      const username = accounts[token]
      return Effect.succeed(
        (username === undefined
          ? { status: { user: {}, error: "invalid bearer token" } }
          : { status: { authenticated: true, user: { username }, audiences: ["agentgateway"] } }) as A
      )
    }
  }))

const authorize = (token: string | undefined, gateway: string) =>
  Effect.gen(function*() {
    const auth = yield* XdsAuthenticator
    return yield* Effect.result(auth.authorize(token, gateway))
  })

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
    return Effect.gen(function*() {
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
    }).pipe(Effect.provide(tokenReviewAuthenticator.pipe(Layer.provide(fakeApi({
      [good]: "system:serviceaccount:team:a",
      [jwt({ exp: 7200 })]: "system:serviceaccount:team:a"
    }, calls, down)))))
  })
})
