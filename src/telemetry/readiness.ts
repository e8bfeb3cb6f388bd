// Ready means: the first configuration is published, the xDS port accepts
// streams, and nothing that feeds the configuration has gone deaf (a watched
// directory removed or replaced). Admin endpoints start first, so they learn
// all of this from here.
import { Context, Effect, Layer, Ref } from "effect"

export class Readiness extends Context.Service<
  Readiness,
  {
    readonly xdsListening: Effect.Effect<void>
    readonly isXdsListening: Effect.Effect<boolean>
    /** Marks the named requirement unmet with a reason users can act on, or met again with undefined. */
    readonly require: (name: string, unmet: string | undefined) => Effect.Effect<void>
    /** Reasons of every unmet requirement, sorted by name. */
    readonly unmet: Effect.Effect<ReadonlyArray<string>>
  }
>()("agentplane/admin/Readiness") {
  static readonly layer = Layer.effect(
    Readiness,
    Effect.gen(function* () {
      const listening = yield* Ref.make(false)
      const requirements = yield* Ref.make<ReadonlyMap<string, string>>(new Map())
      return Readiness.of({
        xdsListening: Ref.set(listening, true),
        isXdsListening: Ref.get(listening),
        require: (name, unmet) =>
          Ref.update(requirements, (current) => {
            const next = new Map(current)
            if (unmet === undefined) next.delete(name)
            else next.set(name, unmet)
            return next
          }),
        unmet: Ref.get(requirements).pipe(Effect.map((current) => [...current].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, reason]) => reason)))
      })
    })
  )
}
