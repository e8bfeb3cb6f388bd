// The latest published configuration, in a SubscriptionRef. It changes only
// when some gateway's resources, a status or a reported problem changed, so
// subscribers never wake for nothing.
import { type Cause, Clock, Context, Effect, Layer, Queue, Stream, SubscriptionRef } from "effect"
import type { SourceProblem } from "../world/source.ts"
import type { ObjectStatus } from "../translate/status.ts"
import type { Translation } from "../translate/translate.ts"
import { emptyWorld, type World } from "../world/world.ts"
import { buildSnapshot, EMPTY_VIEW, emptySnapshot, type GatewayView, type Snapshot } from "./snapshot.ts"

/** A gateway's view as of a publication. */
export interface GatewayUpdate {
  readonly view: GatewayView
  /** Clock time of the publication, in milliseconds (for push latency). */
  readonly publishedAt: number
}

export interface Published {
  /** The input the translation was made from (for consumers such as the deployer). */
  readonly world: World
  readonly snapshot: Snapshot
  readonly statuses: ReadonlyArray<ObjectStatus>
  readonly problems: ReadonlyArray<SourceProblem>
  /** Count of publications; 0 until the first configuration was read. */
  readonly generation: number
  /** Clock time of the publication, in milliseconds (for push latency). */
  readonly publishedAt: number
}

const initial: Published = { world: emptyWorld, snapshot: emptySnapshot, statuses: [], problems: [], generation: 0, publishedAt: 0 }

/** Statuses of unchanged objects are the same objects (the translator remembers them): compare those first. */
const sameStatuses = (a: ReadonlyArray<ObjectStatus>, b: ReadonlyArray<ObjectStatus>) =>
  a.length === b.length &&
  a.every((x, i) => {
    const y = b[i]!
    return x === y || (x.kind === y.kind && x.name === y.name && (x.status === y.status || JSON.stringify(x) === JSON.stringify(y)))
  })

const sameSnapshot = (a: Snapshot, b: Snapshot) => a.gateways.size === b.gateways.size && [...a.gateways].every(([name, view]) => b.gateways.get(name) === view)

export class SnapshotStore extends Context.Service<
  SnapshotStore,
  {
    /** Publishes a translation; true when anything changed. */
    readonly publish: (translation: Translation, problems: ReadonlyArray<SourceProblem>, world: World) => Effect.Effect<boolean>
    readonly current: Effect.Effect<Published>
    /** The current value, then every later one. */
    readonly changes: Stream.Stream<Published>
    /**
     * One gateway's view now, then each time it changes (conflated: a slow reader gets the latest).
     * Only the readers of gateways that changed are woken, however many proxies are connected.
     */
    readonly gatewayChanges: (gateway: string) => Stream.Stream<GatewayUpdate>
  }
>()("agentplane/xds/SnapshotStore") {
  static readonly layer = Layer.effect(
    SnapshotStore,
    Effect.gen(function* () {
      const ref = yield* SubscriptionRef.make(initial)
      const readers = new Map<string, Set<Queue.Enqueue<GatewayUpdate, Cause.Done>>>()
      const notify = (before: Snapshot, after: Published) => {
        for (const [gateway, queues] of readers) {
          const view = after.snapshot.gateways.get(gateway)
          if (view === before.gateways.get(gateway)) continue
          for (const queue of queues) Queue.offerUnsafe(queue, { view: view ?? EMPTY_VIEW, publishedAt: after.publishedAt })
        }
      }
      const publish = Effect.fn("SnapshotStore.publish")(function* (translation: Translation, problems: ReadonlyArray<SourceProblem>, world: World) {
        const now = yield* Clock.currentTimeMillis
        const before = (yield* SubscriptionRef.get(ref)).snapshot
        const changed = yield* SubscriptionRef.modify(ref, (current): [boolean, Published] => {
          const snapshot = buildSnapshot(translation, current.snapshot)
          const unchanged =
            current.generation > 0 &&
            current.world === world &&
            sameSnapshot(current.snapshot, snapshot) &&
            sameStatuses(current.statuses, translation.statuses) &&
            JSON.stringify(current.problems) === JSON.stringify(problems)
          if (unchanged) return [false, current]
          return [
            true,
            {
              world,
              snapshot: sameSnapshot(current.snapshot, snapshot) ? current.snapshot : snapshot,
              statuses: translation.statuses,
              problems,
              generation: current.generation + 1,
              publishedAt: now
            }
          ]
        })
        if (changed) notify(before, yield* SubscriptionRef.get(ref))
        return changed
      })
      const gatewayChanges = (gateway: string) =>
        Stream.callback<GatewayUpdate>(
          (queue) =>
            Effect.gen(function* () {
              const current = yield* SubscriptionRef.get(ref)
              Queue.offerUnsafe(queue, { view: current.snapshot.gateways.get(gateway) ?? EMPTY_VIEW, publishedAt: current.publishedAt })
              yield* Effect.acquireRelease(
                Effect.sync(() => {
                  const set = readers.get(gateway) ?? new Set()
                  set.add(queue)
                  readers.set(gateway, set)
                }),
                () =>
                  Effect.sync(() => {
                    const set = readers.get(gateway)
                    set?.delete(queue)
                    if (set?.size === 0) readers.delete(gateway)
                  })
              )
            }),
          { bufferSize: 1, strategy: "sliding" }
        )
      return SnapshotStore.of({ publish, current: SubscriptionRef.get(ref), changes: SubscriptionRef.changes(ref), gatewayChanges })
    })
  )
}
