// A Source whose Worlds carry the key sets their policies need. Every World
// of the wrapped Source is emitted with the current key sets, and a change of
// a key set it uses emits the same objects again with the new keys, so the
// translator runs again. Which key sets a World needs is the caller's
// function: this module knows nothing of policies.
import { Effect, Layer, Option, Stream } from "effect"
import { type JwksKeySet, type JwksKeySets, type JwksRequest, noJwksKeySets } from "../world/jwksKeySets.ts"
import { Source, type SourceError, type SourceUpdate } from "../world/source.ts"
import { JwksKeys } from "./jwksKeys.ts"

export type RequestsOf = (world: SourceUpdate["world"]) => ReadonlyArray<JwksRequest>

const sameKeySet = (a: JwksKeySet | undefined, b: JwksKeySet | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.jwks === b.jwks && a.fetchedAt === b.fetchedAt && a.error === b.error)

const sameKeySets = (a: JwksKeySets, b: JwksKeySets) => a.size === b.size && [...a].every(([key, set]) => sameKeySet(set, b.get(key)))

/** Only the entries these keys name, so unrelated key sets neither enter the World nor trigger a pass. */
const restricted = (keySets: JwksKeySets, keys: ReadonlySet<string>): JwksKeySets => {
  if (keys.size === 0) return noJwksKeySets
  const kept = new Map<string, JwksKeySet>()
  for (const key of [...keys].sort()) {
    const set = keySets.get(key)
    if (set !== undefined) kept.set(key, set)
  }
  return kept
}

type Event = { readonly _tag: "World"; readonly update: SourceUpdate } | { readonly _tag: "Keys"; readonly keySets: JwksKeySets }

/** Wraps the Source below it (provide it with `Layer.provide`). */
export const withJwksKeySets = (requestsOf: RequestsOf) =>
  Layer.effect(
    Source,
    Effect.gen(function* () {
      const inner = yield* Source
      const keys = yield* JwksKeys
      const updates = Stream.unwrap(
        Effect.gen(function* () {
          // No World before the key sets are known: in a cluster, a replica that starts while the
          // identity provider is down must send the stored keys from its very first configuration.
          let all: JwksKeySets = Option.getOrElse(yield* Stream.runHead(keys.keySets), () => noJwksKeySets)
          let latest: SourceUpdate | undefined
          let wanted: ReadonlySet<string> = new Set()
          let emitted: JwksKeySets = noJwksKeySets
          const emit = (update: SourceUpdate): SourceUpdate => {
            emitted = restricted(all, wanted)
            return { ...update, world: { ...update.world, jwksKeySets: emitted } }
          }
          const events: Stream.Stream<Event, SourceError> = Stream.merge(
            inner.updates.pipe(Stream.map((update): Event => ({ _tag: "World", update }))),
            keys.keySets.pipe(Stream.map((keySets): Event => ({ _tag: "Keys", keySets })))
          )
          return events.pipe(
            Stream.mapEffect((event) =>
              Effect.gen(function* () {
                if (event._tag === "World") {
                  const requests = requestsOf(event.update.world)
                  wanted = new Set(requests.map((request) => request.key))
                  yield* keys.track(requests)
                  latest = event.update
                  return emit(event.update)
                }
                all = event.keySets
                if (latest === undefined || sameKeySets(restricted(all, wanted), emitted)) return undefined
                return emit(latest)
              })
            ),
            Stream.filter((update): update is SourceUpdate => update !== undefined)
          )
        })
      )
      return Source.of({ updates })
    })
  )
