// The latest published configuration, in a SubscriptionRef. It changes only
// when some gateway's resources, a status or a reported problem changed, so
// subscribers never wake for nothing.
import { Clock, Context, Effect, Layer, Stream, SubscriptionRef } from "effect"
import type { SourceProblem } from "../api/source.ts"
import type { ObjectStatus } from "../translate/status.ts"
import type { Translation } from "../translate/translate.ts"
import { emptyWorld, type World } from "../translate/world.ts"
import { buildSnapshot, emptySnapshot, type Snapshot } from "./snapshot.ts"

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

const sameSnapshot = (a: Snapshot, b: Snapshot) =>
  a.gateways.size === b.gateways.size && [...a.gateways].every(([name, view]) => b.gateways.get(name) === view)

export class SnapshotStore extends Context.Service<SnapshotStore, {
  /** Publishes a translation; true when anything changed. */
  readonly publish: (translation: Translation, problems: ReadonlyArray<SourceProblem>, world: World) => Effect.Effect<boolean>
  readonly current: Effect.Effect<Published>
  /** The current value, then every later one. */
  readonly changes: Stream.Stream<Published>
}>()("agentplane/xds/SnapshotStore") {
  static readonly layer = Layer.effect(
    SnapshotStore,
    Effect.gen(function*() {
      const ref = yield* SubscriptionRef.make(initial)
      const publish = Effect.fn("SnapshotStore.publish")(function*(translation: Translation, problems: ReadonlyArray<SourceProblem>, world: World) {
        const now = yield* Clock.currentTimeMillis
        return yield* SubscriptionRef.modify(ref, (current): [boolean, Published] => {
          const snapshot = buildSnapshot(translation, current.snapshot)
          const unchanged = current.generation > 0 && current.world === world && sameSnapshot(current.snapshot, snapshot) &&
            sameStatuses(current.statuses, translation.statuses) &&
            JSON.stringify(current.problems) === JSON.stringify(problems)
          if (unchanged) return [false, current]
          return [true, {
            world,
            snapshot: sameSnapshot(current.snapshot, snapshot) ? current.snapshot : snapshot,
            statuses: translation.statuses,
            problems,
            generation: current.generation + 1,
            publishedAt: now
          }]
        })
      })
      return SnapshotStore.of({ publish, current: SubscriptionRef.get(ref), changes: SubscriptionRef.changes(ref) })
    })
  )
}
