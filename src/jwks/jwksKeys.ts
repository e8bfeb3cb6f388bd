// Where the World's key sets come from. On one replica that is the fetcher
// itself; in a cluster it is the persisted copy every replica reads, filled
// by the leader's fetcher (`kube/jwksStore.ts`).
import { Context, Effect, Layer, type Stream } from "effect"
import type { JwksKeySets, JwksRequest } from "../world/jwksKeySets.ts"
import { JwksFetcher } from "./jwksFetcher.ts"

export class JwksKeys extends Context.Service<
  JwksKeys,
  {
    /** The requests the current World makes. */
    readonly track: (requests: ReadonlyArray<JwksRequest>) => Effect.Effect<void>
    /** The key sets to translate with: the current ones, then every change. */
    readonly keySets: Stream.Stream<JwksKeySets>
  }
>()("agentplane/jwks/JwksKeys") {
  /** One replica: what this process fetched, nothing persisted. */
  static readonly fromFetcher = Layer.effect(
    JwksKeys,
    Effect.gen(function* () {
      const fetcher = yield* JwksFetcher
      return JwksKeys.of({ track: fetcher.track, keySets: fetcher.keySets })
    })
  )
}
