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

export class DataPlane extends Context.Service<
  DataPlane,
  {
    readonly connect: (proxy: { readonly stream: string; readonly nodeId: string; readonly gateway: string; readonly peer: string }) => Effect.Effect<void>
    readonly disconnect: (stream: string) => Effect.Effect<void>
    readonly answered: (stream: string, typeUrl: string, confirmed: ReadonlyMap<string, string>, refused: Refusals, tracked: boolean) => Effect.Effect<void>
    readonly proxies: Effect.Effect<ReadonlyArray<ConnectedProxy>>
    /** A signal now, then after every connect, disconnect and answer (read `proxies` for the state). */
    readonly changes: Stream.Stream<void>
  }
>()("agentplane/xds/DataPlane") {
  static readonly layer = Layer.effect(
    DataPlane,
    Effect.gen(function* () {
      // Streams by id. A proxy's entry is replaced, never changed in place, so consumers can
      // compare proxies by identity; the map itself is updated in place, so a connection costs the
      // same however many proxies are connected (copying it made 1,000 connections quadratic).
      const connected = new Map<string, ConnectedProxy>()
      const version = yield* SubscriptionRef.make(0)
      const changed = SubscriptionRef.update(version, (n) => n + 1)
      return DataPlane.of({
        connect: (proxy) =>
          Effect.suspend(() => {
            connected.set(proxy.stream, { ...proxy, confirmed: new Map(), refused: new Map(), readyTypes: new Set() })
            return changed
          }),
        disconnect: (stream) => Effect.suspend(() => (connected.delete(stream) ? changed : Effect.void)),
        answered: (stream, typeUrl, confirmed, refused, tracked) =>
          Effect.suspend(() => {
            const proxy = connected.get(stream)
            if (proxy === undefined) return Effect.void
            const readyTypes = proxy.readyTypes.has(typeUrl) ? proxy.readyTypes : new Set(proxy.readyTypes).add(typeUrl)
            connected.set(stream, tracked ? { ...proxy, confirmed, refused, readyTypes } : { ...proxy, readyTypes })
            return changed
          }),
        proxies: Effect.sync(() => [...connected.values()]),
        changes: Stream.map(SubscriptionRef.changes(version), () => undefined)
      })
    })
  )
}
