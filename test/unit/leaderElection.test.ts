// Leader election against an in-memory API, on the test clock: an absent
// Lease is taken, a renewed one is respected and an abandoned one taken over
// (judged by when this replica saw it change, not by the holder's clock), a
// leader that cannot renew steps down before others may take over, two
// replicas never lead at once, and shutdown hands the Lease over at once.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { LeaderElection } from "../../src/kube/leaderElection.ts"
import { memoryKubeApi, type MemoryKubeApi } from "../support/memoryKubeApi.ts"

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/agentplane/leases"
const LEASE = `${LEASES}/agentplane`

interface LeaseSpec {
  readonly holderIdentity?: string
  readonly renewTime?: string
  readonly leaseDurationSeconds?: number
  readonly leaseTransitions?: number
}
const specOf = (api: MemoryKubeApi) => api.get(LEASE)?.["spec"] as LeaseSpec | undefined

/** A replica named `identity` with a 15 s lease (it retries every 3 s, steps down after 10 s without renewing). */
const replica = (api: MemoryKubeApi, identity: string) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const layer = LeaderElection.layer({ namespace: "agentplane", name: "agentplane", identity, leaseDurationSeconds: 15 }).pipe(Layer.provide(api.layer))
    const context = yield* Layer.buildWithScope(layer, scope)
    const election = Context.get(context, LeaderElection)
    return { isLeader: election.isLeader, stop: Scope.close(scope, Exit.void) }
  })

/** Lets the forked loops run their next round after the clock moved. */
const advance = (duration: `${number} seconds` | `${number} millis`) => TestClock.adjust(duration)

const otherHolds = (api: MemoryKubeApi, renewTime: string) =>
  api.put(LEASE, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "agentplane", namespace: "agentplane" },
    spec: { holderIdentity: "other", leaseDurationSeconds: 15, renewTime, leaseTransitions: 4 }
  })

describe("leader election", () => {
  it.effect("creates an absent Lease and leads", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      const one = yield* replica(api, "one")
      yield* advance("0 millis")
      assert.isTrue(yield* one.isLeader)
      assert.strictEqual(specOf(api)?.holderIdentity, "one")
      assert.strictEqual(specOf(api)?.leaseTransitions, 0)
      assert.include(api.requests, `POST ${LEASES}`)
      yield* one.stop
    })
  )

  it.effect("respects a Lease another replica renews and takes it over once renewals stop", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      // The holder's clock is far behind: only the change of renewTime counts.
      otherHolds(api, "2001-01-01T00:00:00.000000Z")
      const one = yield* replica(api, "one")
      yield* advance("0 millis")
      assert.isFalse(yield* one.isLeader)
      for (let round = 1; round <= 4; round++) {
        yield* advance("9 seconds")
        otherHolds(api, `2001-01-01T00:00:${String(round * 9).padStart(2, "0")}.000000Z`)
        assert.isFalse(yield* one.isLeader, `renewed ${round} time(s)`)
      }
      // The last renewal was written at 36 s and first seen at the 39 s round: the lease runs out
      // 15 s after it was seen, so the 54 s round still waits and the 57 s round takes over.
      yield* advance("18 seconds")
      assert.isFalse(yield* one.isLeader)
      yield* advance("3 seconds")
      assert.isTrue(yield* one.isLeader)
      assert.strictEqual(specOf(api)?.holderIdentity, "one")
      assert.strictEqual(specOf(api)?.leaseTransitions, 5)
      yield* one.stop
    })
  )

  it.effect("steps down when the Lease cannot be renewed, before another replica could take over", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      const one = yield* replica(api, "one")
      yield* advance("0 millis")
      assert.isTrue(yield* one.isLeader)
      api.setDown(true)
      yield* advance("9 seconds")
      assert.isTrue(yield* one.isLeader, "still within the renew deadline")
      yield* advance("3 seconds")
      assert.isFalse(yield* one.isLeader, "past the renew deadline (two thirds of the lease)")
      api.setDown(false)
      yield* advance("3 seconds")
      assert.isTrue(yield* one.isLeader, "its own Lease is renewed again once reachable")
      yield* one.stop
    })
  )

  it.effect("never lets two replicas lead, and hands the Lease over on shutdown", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      const one = yield* replica(api, "one")
      const two = yield* replica(api, "two")
      for (let round = 0; round < 5; round++) {
        yield* advance("3 seconds")
        const leaders = [yield* one.isLeader, yield* two.isLeader].filter(Boolean).length
        assert.strictEqual(leaders, 1, `round ${round}`)
      }
      assert.isTrue(yield* one.isLeader)
      yield* one.stop
      assert.strictEqual(specOf(api)?.holderIdentity, "", "released on shutdown")
      // The follower takes over at its next round, without waiting for the lease to expire.
      yield* advance("3 seconds")
      assert.isTrue(yield* two.isLeader)
      assert.strictEqual(specOf(api)?.holderIdentity, "two")
      yield* two.stop
    })
  )
})
