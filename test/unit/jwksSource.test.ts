// The Source transformer: every World carries the key sets its requests
// name; a change of one of them emits the same objects again; a change of a
// key set no World asks for emits nothing.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Queue, Stream, SubscriptionRef } from "effect"
import { JwksKeys } from "../../src/jwks/jwksKeys.ts"
import { withJwksKeySets } from "../../src/jwks/jwksSource.ts"
import type { JwksKeySets, JwksRequest } from "../../src/world/jwksKeySets.ts"
import { Source, type SourceUpdate } from "../../src/world/source.ts"
import { emptyWorld } from "../../src/world/world.ts"

describe("JWKS source transformer", () => {
  it.effect("adds the requested key sets to each World and re-emits the same objects when one changes", () =>
    Effect.gen(function* () {
      const worlds = yield* Queue.unbounded<SourceUpdate>()
      const keySets = yield* SubscriptionRef.make<JwksKeySets>(new Map([["other", { jwks: '{"keys":[]}', fetchedAt: "t0" }]]))
      const tracked: Array<ReadonlyArray<string>> = []
      const inner = Layer.succeed(Source, Source.of({ updates: Stream.fromQueue(worlds) }))
      const keys = Layer.succeed(
        JwksKeys,
        JwksKeys.of({
          track: (requests) => Effect.sync(() => tracked.push(requests.map((request) => request.key))),
          keySets: SubscriptionRef.changes(keySets)
        })
      )
      const request: JwksRequest = { key: "k", url: "http://idp/jwks", refreshMs: 300_000 }
      const source = withJwksKeySets((world) => (world.gateways.size === 0 ? [request] : [])).pipe(Layer.provide(Layer.merge(inner, keys)))

      const out = yield* Queue.unbounded<SourceUpdate>()
      const fiber = yield* Effect.gen(function* () {
        const { updates } = yield* Source
        yield* Stream.runForEach(updates, (update) => Queue.offer(out, update))
      }).pipe(Effect.provide(source), Effect.forkScoped)

      const first: SourceUpdate = { world: emptyWorld, problems: [{ origin: "a.yaml", message: "kept" }] }
      yield* Queue.offer(worlds, first)
      const emitted = yield* Queue.take(out)
      assert.deepStrictEqual(tracked, [["k"]])
      assert.strictEqual(emitted.world.jwksKeySets.size, 0, "a key set no request names stays out")
      assert.strictEqual(emitted.world.gateways, emptyWorld.gateways)
      assert.deepStrictEqual(emitted.problems, first.problems)

      yield* SubscriptionRef.update(keySets, (sets) => new Map([...sets, ["k", { error: "the identity provider answered HTTP 503 (expected 200)" }]]))
      const failed = yield* Queue.take(out)
      assert.strictEqual(failed.world.gateways, emptyWorld.gateways, "the same objects, so only the key sets differ")
      assert.deepStrictEqual([...failed.world.jwksKeySets], [["k", { error: "the identity provider answered HTTP 503 (expected 200)" }]])

      yield* SubscriptionRef.update(keySets, (sets) => new Map([...sets, ["other", { jwks: '{"keys":[]}', fetchedAt: "t1" }]]))
      yield* SubscriptionRef.update(keySets, (sets) => new Map([...sets, ["k", { jwks: '{"keys":[1]}', fetchedAt: "t1" }]]))
      const fetched = yield* Queue.take(out)
      assert.deepStrictEqual([...fetched.world.jwksKeySets], [["k", { jwks: '{"keys":[1]}', fetchedAt: "t1" }]])
      assert.strictEqual(yield* Queue.size(out), 0, "the change of an unrequested key set emitted nothing")
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.scoped)
  )

  it.effect("emits no World before the key sets are known, and the first carries them", () =>
    Effect.gen(function* () {
      const known = yield* Deferred.make<JwksKeySets>()
      const keys = Layer.succeed(
        JwksKeys,
        JwksKeys.of({ track: () => Effect.void, keySets: Stream.fromEffect(Deferred.await(known)).pipe(Stream.concat(Stream.never)) })
      )
      const inner = Layer.succeed(Source, Source.of({ updates: Stream.make({ world: emptyWorld, problems: [] }).pipe(Stream.concat(Stream.never)) }))
      const request: JwksRequest = { key: "k", url: "http://idp/jwks", refreshMs: 300_000 }
      const source = withJwksKeySets(() => [request]).pipe(Layer.provide(Layer.merge(inner, keys)))
      const out = yield* Queue.unbounded<SourceUpdate>()
      yield* Effect.gen(function* () {
        const { updates } = yield* Source
        yield* Stream.runForEach(updates, (update) => Queue.offer(out, update))
      }).pipe(Effect.provide(source), Effect.forkScoped)
      yield* Effect.yieldNow
      assert.strictEqual(yield* Queue.size(out), 0, "the World waits for the key sets")
      yield* Deferred.succeed(known, new Map([["k", { jwks: '{"keys":[1]}', fetchedAt: "t0" }]]))
      const first = yield* Queue.take(out)
      assert.deepStrictEqual([...first.world.jwksKeySets], [["k", { jwks: '{"keys":[1]}', fetchedAt: "t0" }]])
    }).pipe(Effect.scoped)
  )
})
