// Remote JWKS in a cluster. Only the leader fetches; it writes every key set
// it fetched to a ConfigMap in agentplane's own namespace, and every replica
// (the leader too) translates with what those ConfigMaps hold. So all
// replicas send the same bytes, a new leader starts from the keys its
// predecessor fetched, and a restart while the identity provider is down
// still serves the last keys. The leader deletes a ConfigMap no policy needs.
import { createHash } from "node:crypto"
import { type KubernetesObject, makeInformer } from "@kubernetes/client-node"
import { Deferred, Effect, FiberSet, Layer, Schema, Semaphore, Stream, SubscriptionRef } from "effect"
import { jwksFromValue } from "../jwks/jwksDocument.ts"
import { JwksFetcher, loggableUrl } from "../jwks/jwksFetcher.ts"
import { JwksKeys } from "../jwks/jwksKeys.ts"
import type { JwksKeySet, JwksKeySets, JwksRequest } from "../world/jwksKeySets.ts"
import { KubeApi } from "./kubeApi.ts"
import { LeaderElection } from "./leaderElection.ts"

export const JWKS_STORE_LABEL = "app.kubernetes.io/component"
export const JWKS_STORE_COMPONENT = "jwks-store"
export const JWKS_STORE_DATA_KEY = "jwks-store"
const FIELD_MANAGER = "agentplane-jwks"
const RESTART_MIN_MS = 500
const RESTART_MAX_MS = 30_000

/** The one name a request's key set may be stored under. */
export const jwksStoreName = (requestKey: string): string => `jwks-store-${createHash("sha256").update(requestKey).digest("hex")}`

const StoredKeySet = Schema.fromJsonString(Schema.Struct({ requestKey: Schema.String, url: Schema.String, fetchedAt: Schema.String, jwks: Schema.Unknown }))
const decodeStored = Schema.decodeUnknownOption(StoredKeySet)

type ConfigMap = KubernetesObject & { readonly data?: Readonly<Record<string, string>> }

interface Stored {
  readonly url: string
  readonly jwks: string
  readonly fetchedAt: string
}

/** A stored key set, or why it cannot be used (it is then ignored, and replaced by the next fetch). */
export const readStored = (configMap: ConfigMap): { readonly key: string; readonly stored: Stored } | { readonly problem: string } => {
  const name = configMap.metadata?.name ?? ""
  const decoded = decodeStored(configMap.data?.[JWKS_STORE_DATA_KEY])
  if (decoded._tag === "None") return { problem: `data.${JWKS_STORE_DATA_KEY} is not JSON {requestKey, url, fetchedAt, jwks}` }
  const { requestKey, url, fetchedAt, jwks } = decoded.value
  if (jwksStoreName(requestKey) !== name) return { problem: `it is not named after its requestKey (expected ${jwksStoreName(requestKey)})` }
  if (Number.isNaN(Date.parse(fetchedAt))) return { problem: `fetchedAt ${JSON.stringify(fetchedAt)} is not an RFC 3339 time` }
  const document = jwksFromValue(jwks)
  if (document._tag === "Invalid") return { problem: `its jwks cannot be used: ${document.message}` }
  return { key: requestKey, stored: { url, jwks: document.jwks, fetchedAt } }
}

const storedConfigMap = (namespace: string, request: JwksRequest, keySet: { readonly jwks: string; readonly fetchedAt: string }) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name: jwksStoreName(request.key),
    namespace,
    labels: { [JWKS_STORE_LABEL]: JWKS_STORE_COMPONENT, "app.kubernetes.io/managed-by": "agentplane" }
  },
  data: {
    [JWKS_STORE_DATA_KEY]: JSON.stringify({ requestKey: request.key, url: request.url, fetchedAt: keySet.fetchedAt, jwks: JSON.parse(keySet.jwks) })
  }
})

/** The key sets every replica translates with: stored keys, and (on the leader) why the latest fetch or write failed. */
const viewOf = (stored: ReadonlyMap<string, Stored>, fetched: JwksKeySets, writeErrors: ReadonlyMap<string, string>): JwksKeySets => {
  const view = new Map<string, JwksKeySet>()
  for (const key of [...new Set([...stored.keys(), ...fetched.keys()])].sort()) {
    const keys = stored.get(key)
    const error = fetched.get(key)?.error ?? (writeErrors.has(key) ? `the keys were fetched but could not be stored: ${writeErrors.get(key)}` : undefined)
    view.set(key, {
      ...(keys === undefined ? {} : { jwks: keys.jwks, fetchedAt: keys.fetchedAt }),
      ...(error === undefined ? {} : { error })
    })
  }
  return view
}

/** `JwksKeys` of a cluster, over the ConfigMaps of `namespace`; the fetcher runs while this replica leads. */
export const jwksStore = (namespace: string) =>
  Layer.effect(
    JwksKeys,
    Effect.gen(function* () {
      const api = yield* KubeApi
      const leadership = yield* LeaderElection
      const fetcher = yield* JwksFetcher
      const path = `/api/v1/namespaces/${namespace}/configmaps`
      const selector = `${JWKS_STORE_LABEL}=${JWKS_STORE_COMPONENT}`
      const stored = yield* SubscriptionRef.make<ReadonlyMap<string, Stored>>(new Map())
      const writeErrors = yield* SubscriptionRef.make<ReadonlyMap<string, string>>(new Map())
      const synced = yield* Deferred.make<void>()
      const lock = yield* Semaphore.make(1)
      const runFork = yield* FiberSet.makeRuntime()
      const runPromise = yield* FiberSet.makeRuntimePromise()
      const reported = new Map<string, string>()
      let listed = false
      /** Watch restarts back off from a failed list or watch; a successful list resets them. */
      let backoff = RESTART_MIN_MS
      let lastFailure: string | undefined

      const informer = makeInformer<ConfigMap>(
        api.config,
        path,
        async () => {
          const list = await runPromise(
            api.request<{ metadata?: { resourceVersion?: string }; items: Array<ConfigMap> }>("GET", `${path}?labelSelector=${encodeURIComponent(selector)}`)
          )
          // The informer fills its cache right after this returns; read it then.
          setImmediate(() => {
            listed = true
            backoff = RESTART_MIN_MS
            lastFailure = undefined
            changed()
          })
          return { metadata: list.metadata ?? {}, items: list.items }
        },
        selector
      )

      /** The informer's cache as key sets; an unusable ConfigMap is reported once and ignored. */
      const readCache = Effect.gen(function* () {
        if (!listed) return
        const next = new Map<string, Stored>()
        for (const configMap of informer.list()) {
          const name = configMap.metadata?.name ?? ""
          const read = readStored(configMap)
          if ("problem" in read) {
            if (reported.get(name) !== read.problem) yield* Effect.logWarning(`JWKS store ConfigMap ${namespace}/${name} is ignored: ${read.problem}`)
            reported.set(name, read.problem)
            continue
          }
          reported.delete(name)
          next.set(read.key, read.stored)
        }
        yield* SubscriptionRef.set(stored, next)
        if (yield* leadership.isLeader) yield* fetcher.seed(viewOf(next, new Map(), new Map()))
        yield* Deferred.succeed(synced, undefined)
      })
      const changed = () => {
        runFork(Semaphore.withPermit(lock)(readCache))
      }
      let stopped = false
      for (const event of ["add", "update", "delete"] as const) informer.on(event, changed)
      informer.on("error", (error: unknown) => {
        if (stopped) return
        const delay = backoff / 2 + Math.random() * (backoff / 2)
        backoff = Math.min(backoff * 2, RESTART_MAX_MS)
        const message = error instanceof Error ? error.message : ((error as { message?: string })?.message ?? String(error))
        const status = (error as { status?: number; statusCode?: number })?.status ?? (error as { statusCode?: number })?.statusCode
        const fix =
          status === 403
            ? `; grant list and watch on configmaps in ${namespace} (Role agentplane-jwks-store, manifests/install/jwks-store.yaml or the Helm chart): nothing is translated before they are listed`
            : ""
        // Reported when it starts failing or fails differently, not on every retry.
        if (message !== lastFailure) {
          runFork(
            Effect.logWarning(
              `watch of the JWKS store ConfigMaps in ${namespace} failed (${message}${fix}); retrying with backoff (${Math.round(delay)} ms, up to ${RESTART_MAX_MS / 1000} s), keeping the cached key sets`
            )
          )
        }
        lastFailure = message
        setTimeout(() => {
          if (!stopped) void informer.start()
        }, delay).unref()
      })
      yield* Effect.acquireRelease(
        Effect.sync(() => void informer.start()),
        () =>
          Effect.promise(async () => {
            stopped = true
            await informer.stop()
          })
      )

      /** The latest World's requests; undefined until the first World (nothing is swept before it). */
      let requests: ReadonlyArray<JwksRequest> | undefined
      const written = new Map<string, string>()

      const sweep = Effect.gen(function* () {
        const wanted = new Set((requests ?? []).map((request) => jwksStoreName(request.key)))
        for (const configMap of informer.list()) {
          const name = configMap.metadata?.name ?? ""
          if (wanted.has(name)) continue
          yield* api.request("DELETE", `${path}/${name}`).pipe(
            Effect.tap(() => Effect.logInfo(`JWKS store ConfigMap ${namespace}/${name} deleted: no policy needs its key set any more`)),
            Effect.catchIf(
              (error) => error.status === 404,
              () => Effect.void
            ),
            Effect.catch((error) =>
              Effect.logWarning(`cannot delete the JWKS store ConfigMap ${namespace}/${name} (${error.message}); trying again on the next change`)
            )
          )
        }
      })

      /** Leader: fetch the requests, seeded with the stored keys, and sweep; follower: fetch nothing. */
      const reconcile = Semaphore.withPermit(lock)(
        Effect.gen(function* () {
          if (requests === undefined) return
          if (!(yield* leadership.isLeader)) return yield* fetcher.track([])
          yield* fetcher.seed(viewOf(yield* SubscriptionRef.get(stored), new Map(), new Map()))
          yield* fetcher.track(requests)
          yield* sweep
        })
      )

      yield* leadership.changes.pipe(
        Stream.runForEach(() => reconcile),
        Effect.forkScoped
      )

      // The leader stores every key set it fetched (a new fetchedAt too: a new leader schedules from it).
      const store = (keySets: JwksKeySets) =>
        Effect.gen(function* () {
          if (!(yield* leadership.isLeader)) return
          const byKey = new Map((requests ?? []).map((request) => [request.key, request]))
          const persisted = yield* SubscriptionRef.get(stored)
          for (const [key, keySet] of keySets) {
            const request = byKey.get(key)
            if (request === undefined || keySet.jwks === undefined || keySet.fetchedAt === undefined) continue
            const current = persisted.get(key)
            if ((current?.jwks === keySet.jwks && current.fetchedAt === keySet.fetchedAt) || written.get(key) === keySet.fetchedAt) continue
            const name = jwksStoreName(key)
            const outcome = yield* Effect.result(
              api.request("PATCH", `${path}/${name}?fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict`, {
                contentType: "application/apply-patch+yaml",
                json: storedConfigMap(namespace, request, { jwks: keySet.jwks, fetchedAt: keySet.fetchedAt })
              })
            )
            const errors = yield* SubscriptionRef.get(writeErrors)
            if (outcome._tag === "Success") {
              written.set(key, keySet.fetchedAt)
              if (errors.has(key)) {
                yield* Effect.logInfo(`JWKS ${loggableUrl(request.url)}: key set stored again in ConfigMap ${namespace}/${name}`)
                yield* SubscriptionRef.update(writeErrors, (all) => new Map([...all].filter(([k]) => k !== key)))
              }
            } else if (errors.get(key) !== outcome.failure.message) {
              yield* Effect.logWarning(
                `JWKS ${loggableUrl(request.url)}: cannot store the key set in ConfigMap ${namespace}/${name} (${outcome.failure.message}); trying again after the next fetch`
              )
              yield* SubscriptionRef.update(writeErrors, (all) => new Map([...all, [key, outcome.failure.message]]))
            }
          }
          for (const key of [...written.keys()]) if (!byKey.has(key)) written.delete(key)
          const errors = yield* SubscriptionRef.get(writeErrors)
          if ([...errors.keys()].some((key) => !byKey.has(key))) {
            yield* SubscriptionRef.set(writeErrors, new Map([...errors].filter(([key]) => byKey.has(key))))
          }
        })
      yield* fetcher.keySets.pipe(
        Stream.runForEach((keySets) => store(keySets).pipe(Effect.catchCause((cause) => Effect.logError("storing JWKS key sets failed", cause)))),
        Effect.forkScoped
      )

      const keySets = Stream.unwrap(
        Effect.as(
          Deferred.await(synced),
          Stream.zipLatestAll(SubscriptionRef.changes(stored), fetcher.keySets, SubscriptionRef.changes(writeErrors)).pipe(
            Stream.map(([persisted, fetched, errors]) => viewOf(persisted, fetched, errors))
          )
        )
      )
      return JwksKeys.of({
        track: (next) =>
          Effect.suspend(() => {
            requests = next
            return reconcile
          }),
        keySets
      })
    })
  )
