// What the connected proxies hold: per stream, the resource versions the
// proxy acknowledged and the ones it refused. Feeds status and metrics.
import { Context, Effect, Layer, Stream, SubscriptionRef } from "effect"
import type { Refusals } from "./protocol.ts"

export interface ConnectedProxy {
  readonly stream: string
  readonly nodeId: string
  readonly gateway: string
  readonly peer: string
  /** Acknowledged versions of agentgateway resources. */
  readonly confirmed: ReadonlyMap<string, string>
  readonly refused: Refusals
  /** Type URLs that got their first response acknowledged. */
  readonly readyTypes: ReadonlySet<string>
}

export class DataPlane extends Context.Service<DataPlane, {
  readonly connect: (proxy: { readonly stream: string; readonly nodeId: string; readonly gateway: string; readonly peer: string }) => Effect.Effect<void>
  readonly disconnect: (stream: string) => Effect.Effect<void>
  readonly answered: (
    stream: string,
    typeUrl: string,
    confirmed: ReadonlyMap<string, string>,
    refused: Refusals,
    tracked: boolean
  ) => Effect.Effect<void>
  readonly proxies: Effect.Effect<ReadonlyArray<ConnectedProxy>>
  /** The proxies now, then after every connect, disconnect and answer. */
  readonly changes: Stream.Stream<ReadonlyArray<ConnectedProxy>>
}>()("agentplane/xds/DataPlane") {
  static readonly layer = Layer.effect(
    DataPlane,
    Effect.gen(function*() {
      const ref = yield* SubscriptionRef.make<ReadonlyMap<string, ConnectedProxy>>(new Map())
      return DataPlane.of({
        connect: (proxy) =>
          SubscriptionRef.update(ref, (all) =>
            new Map(all).set(proxy.stream, { ...proxy, confirmed: new Map(), refused: new Map(), readyTypes: new Set() })),
        disconnect: (stream) =>
          SubscriptionRef.update(ref, (all) => {
            const next = new Map(all)
            next.delete(stream)
            return next
          }),
        answered: (stream, typeUrl, confirmed, refused, tracked) =>
          SubscriptionRef.update(ref, (all) => {
            const proxy = all.get(stream)
            if (proxy === undefined) return all
            const readyTypes = new Set(proxy.readyTypes).add(typeUrl)
            return new Map(all).set(stream, tracked ? { ...proxy, confirmed, refused, readyTypes } : { ...proxy, readyTypes })
          }),
        proxies: Effect.map(SubscriptionRef.get(ref), (all) => [...all.values()]),
        changes: Stream.map(SubscriptionRef.changes(ref), (all) => [...all.values()])
      })
    })
  )
}
