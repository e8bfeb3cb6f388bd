// Keeps the key sets of the current JWKS requests fresh: one scoped fiber per
// request key, fetching at `fetchedAt + refresh`, retrying failures with
// capped backoff for as long as the request exists, and keeping the last good
// keys meanwhile. A request that disappears stops its fiber and its entry.
import { Clock, Context, Effect, FiberMap, Layer, type Stream, SubscriptionRef } from "effect"
import { Metrics } from "../telemetry/metrics.ts"
import type { JwksKeySet, JwksKeySets, JwksRequest } from "../world/jwksKeySets.ts"
import { fetchJwks, jwksDispatcher } from "./jwksFetch.ts"

export const JWKS_BACKOFF_FIRST_MS = 200
export const JWKS_BACKOFF_MAX_MS = 15_000

/** Retry delay after the `failures`-th failure in a row (1-based): 200 ms, 400 ms, … capped at 15 s. */
export const jwksBackoffMs = (failures: number): number => Math.min(JWKS_BACKOFF_MAX_MS, JWKS_BACKOFF_FIRST_MS * 2 ** Math.min(failures - 1, 16))

export interface JwksFetcherOptions {
  /** Refresh at least this often, whatever a request's own interval (operators: pick up key rotation sooner). */
  readonly maxRefreshMs?: number
}

/** The URL as logs show it: without user information. */
export const loggableUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.username = ""
    parsed.password = ""
    return parsed.toString()
  } catch {
    return url
  }
}

export class JwksFetcher extends Context.Service<
  JwksFetcher,
  {
    /** Fetch exactly these (shared by key, the shortest interval wins): new ones start, missing ones stop. */
    readonly track: (requests: ReadonlyArray<JwksRequest>) => Effect.Effect<void>
    /**
     * Good keys known from elsewhere (a persisted copy): they stand until a fetch succeeds, and
     * their `fetchedAt` schedules the first fetch of a request not yet tracked.
     */
    readonly seed: (known: JwksKeySets) => Effect.Effect<void>
    readonly current: Effect.Effect<JwksKeySets>
    /** The current key sets, then every change. */
    readonly keySets: Stream.Stream<JwksKeySets>
  }
>()("agentplane/jwks/JwksFetcher") {
  static readonly layer = (options: JwksFetcherOptions = {}) =>
    Layer.effect(
      JwksFetcher,
      Effect.gen(function* () {
        const metrics = yield* Metrics
        const dispatcher = yield* Effect.acquireRelease(
          Effect.sync(() => jwksDispatcher()),
          (agent) => Effect.promise(() => agent.close())
        )
        const state = yield* SubscriptionRef.make<JwksKeySets>(new Map())
        const fibers = yield* FiberMap.make<string>()
        /** What each running fiber was started for: a changed URL or interval restarts it. */
        const running = new Map<string, JwksRequest>()
        const seeds = new Map<string, JwksKeySet>()

        const setEntry = (key: string, entry: JwksKeySet | undefined) =>
          SubscriptionRef.update(state, (sets) => {
            const next = new Map(sets)
            if (entry === undefined) next.delete(key)
            else next.set(key, entry)
            return next
          })

        const refreshOf = (request: JwksRequest) => (options.maxRefreshMs === undefined ? request.refreshMs : Math.min(request.refreshMs, options.maxRefreshMs))

        const sleepUntil = (at: number) => Effect.flatMap(Clock.currentTimeMillis, (now) => (at > now ? Effect.sleep(at - now) : Effect.void))

        const keep = (request: JwksRequest) =>
          Effect.gen(function* () {
            const url = loggableUrl(request.url)
            const refresh = refreshOf(request)
            const known = (yield* SubscriptionRef.get(state)).get(request.key) ?? seeds.get(request.key)
            if (known !== undefined) yield* setEntry(request.key, known)
            let failures = 0
            let lastError: string | undefined
            const fetchedAt = known?.fetchedAt === undefined ? Number.NaN : Date.parse(known.fetchedAt)
            let next = Number.isNaN(fetchedAt) ? 0 : fetchedAt + refresh
            while (true) {
              yield* sleepUntil(next)
              const result = yield* Effect.result(fetchJwks(request.url, dispatcher))
              const now = yield* Clock.currentTimeMillis
              const previous = (yield* SubscriptionRef.get(state)).get(request.key)
              if (result._tag === "Success") {
                yield* metrics.jwksFetched("success")
                if (failures > 0) yield* Effect.logInfo(`JWKS ${url}: fetched ${result.success.keys} key(s) again after ${failures} failed attempt(s)`)
                yield* setEntry(request.key, { jwks: result.success.jwks, fetchedAt: new Date(now).toISOString() })
                failures = 0
                lastError = undefined
                next = now + refresh
              } else {
                const error = result.failure.message
                failures += 1
                const delay = jwksBackoffMs(failures)
                yield* metrics.jwksFetched("failure")
                // One line when fetching starts failing or fails differently, not one per retry.
                if (error !== lastError) {
                  yield* Effect.logWarning(
                    `JWKS ${url}: fetch failed: ${error}; retrying with backoff (${delay} ms, up to ${JWKS_BACKOFF_MAX_MS / 1000} s), ${
                      previous?.jwks === undefined ? "no keys yet" : `still serving the keys fetched at ${previous.fetchedAt}`
                    }`
                  )
                }
                yield* setEntry(request.key, { ...(previous?.jwks === undefined ? {} : { jwks: previous.jwks, fetchedAt: previous.fetchedAt! }), error })
                lastError = error
                next = now + delay
              }
            }
          })

        const track = Effect.fn("JwksFetcher.track")(function* (requests: ReadonlyArray<JwksRequest>) {
          const wanted = new Map<string, JwksRequest>()
          for (const request of requests) {
            const other = wanted.get(request.key)
            wanted.set(request.key, other === undefined || request.refreshMs < other.refreshMs ? request : other)
          }
          for (const key of [...running.keys()]) {
            if (wanted.has(key)) continue
            running.delete(key)
            yield* FiberMap.remove(fibers, key)
            yield* setEntry(key, undefined)
          }
          for (const [key, request] of wanted) {
            const was = running.get(key)
            if (was !== undefined && was.url === request.url && was.refreshMs === request.refreshMs) continue
            running.set(key, request)
            yield* FiberMap.run(fibers, key, keep(request))
          }
          for (const key of [...seeds.keys()]) if (!wanted.has(key)) seeds.delete(key)
        })

        const seed = Effect.fn("JwksFetcher.seed")(function* (known: JwksKeySets) {
          for (const [key, entry] of known) {
            if (entry.jwks === undefined || entry.fetchedAt === undefined) continue
            seeds.set(key, { jwks: entry.jwks, fetchedAt: entry.fetchedAt })
            const current = (yield* SubscriptionRef.get(state)).get(key)
            if (current === undefined || !running.has(key)) continue
            if (current.fetchedAt === undefined || Date.parse(current.fetchedAt) < Date.parse(entry.fetchedAt)) {
              yield* setEntry(key, { ...current, jwks: entry.jwks, fetchedAt: entry.fetchedAt })
            }
          }
        })

        return JwksFetcher.of({ track, seed, current: SubscriptionRef.get(state), keySets: SubscriptionRef.changes(state) })
      })
    )
}
