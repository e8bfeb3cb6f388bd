// How long a served xDS stream lives: its credentials are checked again every few minutes and at
// the token's expiry, a revoked token closes it, an unreachable API server does not (until the
// token has certainly expired), and every stream closes after its jittered maximum age.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { type XdsAuthError, type XdsGrant, XdsAuthUnavailable, XdsPermissionDenied, XdsUnauthenticated } from "../../src/xds/auth.ts"
import { streamLifetime } from "../../src/xds/lifetime.ts"
import { defaultStreamLimits, type StreamLimits } from "../../src/xds/limits.ts"

const MIN = 60_000
const limits: StreamLimits = { ...defaultStreamLimits, maxStreamAgeJitter: 0 }

const grant = (expiresAt?: number, gateway = "team/a"): XdsGrant => ({
  who: "ServiceAccount team/a",
  permits: (asked) => (asked === gateway ? Effect.void : Effect.fail(new XdsPermissionDenied({ message: `not ${asked}` }))),
  expiresAt
})

/** A re-check that answers from `answers` in turn (the last one repeats) and counts the calls. */
const rechecks = (answers: ReadonlyArray<() => Effect.Effect<XdsGrant, XdsAuthError>>) => {
  const calls: Array<number> = []
  const recheck = Effect.gen(function* () {
    calls.push(Date.now())
    return yield* answers[Math.min(calls.length - 1, answers.length - 1)]!()
  })
  return { calls, recheck }
}

const ok = (expiresAt?: number) => () => Effect.succeed(grant(expiresAt))

describe("streamLifetime", () => {
  it.effect("closes a stream at its maximum age, checking its credentials every 5 minutes meanwhile", () =>
    Effect.gen(function* () {
      const { calls, recheck } = rechecks([ok()])
      const fiber = yield* Effect.forkChild(streamLifetime(grant(), "team/a", limits, recheck))
      yield* TestClock.adjust(29 * MIN)
      assert.isUndefined(fiber.pollUnsafe())
      assert.strictEqual(calls.length, 5)
      yield* TestClock.adjust(1 * MIN)
      const closing = yield* Fiber.join(fiber)
      assert.deepStrictEqual(closing, {
        code: "UNAVAILABLE",
        reason: "the stream reached its maximum age (30 min); reconnect, resuming with initial_resource_versions"
      })
    })
  )

  it.effect("jitters the maximum age by up to a tenth, down", () =>
    Effect.gen(function* () {
      // No re-checks within the hour: only the ages matter here.
      const jittered = { ...defaultStreamLimits, credentialRecheckMs: 60 * MIN }
      const { calls, recheck } = rechecks([ok()])
      const reasons = new Set<string>()
      for (let i = 0; i < 10; i++) {
        const fiber = yield* Effect.forkChild(streamLifetime(grant(), "team/a", jittered, recheck))
        yield* TestClock.adjust(27 * MIN - 1)
        assert.isUndefined(fiber.pollUnsafe())
        yield* TestClock.adjust(3 * MIN + 1)
        reasons.add((yield* Fiber.join(fiber)).reason)
      }
      assert.isAbove(reasons.size, 1, "every stream got the same age")
      // A fractional age must not make the stream wake (and re-check) early, over and over.
      assert.strictEqual(calls.length, 0)
    })
  )

  it.effect("closes a stream whose token is revoked at the next check, not before", () =>
    Effect.gen(function* () {
      const { calls, recheck } = rechecks([() => Effect.fail(new XdsUnauthenticated({ message: "the token was refused: invalid bearer token" }))])
      const fiber = yield* Effect.forkChild(streamLifetime(grant(), "team/a", limits, recheck))
      yield* TestClock.adjust(5 * MIN - 1)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Fiber.join(fiber), {
        code: "UNAUTHENTICATED",
        reason: "the stream's token is no longer accepted: the token was refused: invalid bearer token"
      })
      assert.strictEqual(calls.length, 1)
    })
  )

  it.effect("checks again at the token's expiry when that comes before the next check", () =>
    Effect.gen(function* () {
      const { calls, recheck } = rechecks([() => Effect.fail(new XdsUnauthenticated({ message: "the token was refused: token has expired" }))])
      const fiber = yield* Effect.forkChild(streamLifetime(grant(2 * MIN), "team/a", limits, recheck))
      yield* TestClock.adjust(2 * MIN)
      const closing = yield* Fiber.join(fiber)
      assert.strictEqual(closing.code, "UNAUTHENTICATED")
      assert.strictEqual(calls.length, 1)
    })
  )

  it.effect("keeps a stream while the API server cannot be reached, retrying, until the token has expired", () =>
    Effect.gen(function* () {
      const down = () => Effect.fail(new XdsAuthUnavailable({ message: "cannot review the token (connection refused); retry" }))
      const { calls, recheck } = rechecks([down])
      const fiber = yield* Effect.forkChild(streamLifetime(grant(6 * MIN), "team/a", limits, recheck))
      yield* TestClock.adjust(5 * MIN + 30_000)
      assert.isUndefined(fiber.pollUnsafe())
      assert.strictEqual(calls.length, 2, "checked at 5 min, retried 30 s later")
      yield* TestClock.adjust(30_000)
      assert.deepStrictEqual(yield* Fiber.join(fiber), {
        code: "UNAUTHENTICATED",
        reason: "the stream's token expired, and could not be checked again: cannot review the token (connection refused); retry"
      })
    })
  )

  it.effect("follows a renewed expiry, and closes a stream its credentials no longer permit", () =>
    Effect.gen(function* () {
      const { calls, recheck } = rechecks([ok(20 * MIN), () => Effect.succeed(grant(undefined, "team/other"))])
      const fiber = yield* Effect.forkChild(streamLifetime(grant(5 * MIN), "team/a", limits, recheck))
      yield* TestClock.adjust(9 * MIN)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1 * MIN)
      assert.deepStrictEqual(yield* Fiber.join(fiber), { code: "PERMISSION_DENIED", reason: "not team/a" })
      assert.strictEqual(calls.length, 2)
    })
  )
})
