// Ready means: the first configuration is published and the xDS port accepts
// streams. Admin endpoints start first, so they learn the second from here.
import { Context, Effect, Layer, Ref } from "effect"

export class Readiness extends Context.Service<Readiness, {
  readonly xdsListening: Effect.Effect<void>
  readonly isXdsListening: Effect.Effect<boolean>
}>()("agentplane/admin/Readiness") {
  static readonly layer = Layer.effect(
    Readiness,
    Effect.gen(function*() {
      const listening = yield* Ref.make(false)
      return Readiness.of({ xdsListening: Ref.set(listening, true), isXdsListening: Ref.get(listening) })
    })
  )
}
