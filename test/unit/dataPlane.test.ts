// What the connected proxies hold: entries follow connects, answers and
// disconnects; a proxy that did not answer keeps its very entry (the status
// writer skips unchanged proxies by identity); every change is signalled.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { DataPlane } from "../../src/xds/dataPlane.ts"
import { ADDRESS_TYPE_URL, RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"

const proxy = (stream: string, gateway: string) => ({ stream, nodeId: `node-${stream}`, gateway, peer: "127.0.0.1" })

describe("DataPlane", () => {
  it.effect("tracks answers per stream and keeps untouched proxies as they were", () =>
    Effect.gen(function* () {
      const dataPlane = yield* DataPlane
      yield* dataPlane.connect(proxy("a", "ns/gw"))
      yield* dataPlane.connect(proxy("b", "ns/other"))
      const [a, b] = yield* dataPlane.proxies
      assert.strictEqual(a!.confirmed.size, 0)

      const confirmed = new Map([["backend/x", "v1"]])
      yield* dataPlane.answered("a", RESOURCE_TYPE_URL, confirmed, new Map(), true)
      // Addresses are not tracked: only the type counts as ready.
      yield* dataPlane.answered("a", ADDRESS_TYPE_URL, new Map([["ignored", "v"]]), new Map(), false)
      const after = yield* dataPlane.proxies
      const answered = after.find((p) => p.stream === "a")!
      assert.notStrictEqual(answered, a)
      assert.deepStrictEqual([...answered.confirmed], [["backend/x", "v1"]])
      assert.deepStrictEqual([...answered.readyTypes].sort(), [ADDRESS_TYPE_URL, RESOURCE_TYPE_URL].sort())
      assert.strictEqual(
        after.find((p) => p.stream === "b"),
        b
      )

      yield* dataPlane.disconnect("a")
      assert.deepStrictEqual(
        (yield* dataPlane.proxies).map((p) => p.stream),
        ["b"]
      )
      // An answer from a stream that is gone changes nothing.
      yield* dataPlane.answered("a", RESOURCE_TYPE_URL, confirmed, new Map(), true)
      assert.deepStrictEqual(
        (yield* dataPlane.proxies).map((p) => p.stream),
        ["b"]
      )
    }).pipe(Effect.provide(DataPlane.layer))
  )

  it.effect("signals the current state, then every connect, answer and disconnect", () =>
    Effect.gen(function* () {
      const dataPlane = yield* DataPlane
      const signals = yield* dataPlane.changes.pipe(Stream.take(4), Stream.runCount, Effect.forkChild)
      yield* Effect.yieldNow
      yield* dataPlane.connect(proxy("a", "ns/gw"))
      yield* dataPlane.answered("a", RESOURCE_TYPE_URL, new Map(), new Map(), true)
      yield* dataPlane.disconnect("a")
      assert.strictEqual(yield* Fiber.join(signals), 4)
    }).pipe(Effect.provide(DataPlane.layer))
  )
})
