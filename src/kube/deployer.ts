// Managed mode: for every programmed Gateway whose parameters ask for it,
// the leader applies the rendered proxy objects with server-side apply, and
// removes the objects of Gateways that are gone or became self-managed (the
// test cluster has no garbage collector, and a real one would only act once
// the Gateway itself is deleted). Objects are only ever changed or deleted
// when they carry our labels: someone else's ConfigMap of the same name is
// reported, not taken over.
import { randomBytes } from "node:crypto"
import { Context, Effect, Layer, Schedule, Stream, SubscriptionRef } from "effect"
import { namespaceOf } from "../api/meta.ts"
import { SnapshotStore } from "../xds/snapshotStore.ts"
import { EventRecorder } from "./events.ts"
import { KubeApi, type KubeApiError } from "./kubeApi.ts"
import { LeaderElection } from "./leaderElection.ts"
import { type LiveDeployment, ManagedDeployments } from "./managedDeployments.ts"
import {
  desiredProxies,
  FIELD_MANAGER,
  type KubeObject,
  LABEL_GATEWAY,
  LABEL_MANAGED_BY,
  type ManagedProxy,
  names,
  pathOf,
  refOf,
  renderedRefs,
  renderManagedProxy,
  sessionKeySecret,
  type XdsEndpoint
} from "./managedObjects.ts"
import { canonical } from "./statusMerge.ts"

/** What the status writer needs to know about a managed Gateway. */
export interface ManagedGateway {
  readonly deployment: LiveDeployment | undefined
  /** Why its proxy does not run as asked (a name agentplane cannot use, objects of someone else, a refused write). */
  readonly problem: string | undefined
}

const COALESCE = "100 millis"
/** Apply everything again now and then, in case someone changed or deleted our objects. */
const RESYNC = "5 minutes"
const APPLY_QUERY = `fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict`

type Live = { readonly metadata: { readonly uid: string; readonly labels?: Readonly<Record<string, string>> } }

const isOurs = (live: Live, gatewayName: string) =>
  live.metadata.labels?.[LABEL_MANAGED_BY] === FIELD_MANAGER && live.metadata.labels?.[LABEL_GATEWAY] === gatewayName

const notFound = (error: KubeApiError) => error.status === 404

export class Deployer extends Context.Service<
  Deployer,
  {
    /** Managed Gateways by `namespace/name`. */
    readonly managed: Effect.Effect<ReadonlyMap<string, ManagedGateway>>
    /** Fires whenever `managed` changed. */
    readonly changes: Stream.Stream<void>
  }
>()("agentplane/kube/Deployer") {
  static readonly layer = (xds: XdsEndpoint) =>
    Layer.effect(
      Deployer,
      Effect.gen(function* () {
        const api = yield* KubeApi
        const store = yield* SnapshotStore
        const deployments = yield* ManagedDeployments
        const leader = yield* LeaderElection
        const events = yield* EventRecorder
        const view = yield* SubscriptionRef.make<ReadonlyMap<string, ManagedGateway>>(new Map())
        /** Object path → canonical JSON last applied; only changed renderings are sent again. */
        const applied = new Map<string, string>()
        /** Gateway → uid of the session-key Secret we created (undefined: it was there already). */
        const sessions = new Map<string, string | undefined>()
        /** Gateway → why its objects could not be applied; cleared by the next success. */
        const problems = new Map<string, string>()

        const forgetApplied = (namespace: string, gatewayName: string) => {
          for (const { path } of renderedRefs(namespace, gatewayName)) applied.delete(path)
        }

        /** Creates the session-key Secret once; returns its uid when we created it. */
        const ensureSession = Effect.fnUntraced(function* (proxy: ManagedProxy, live: LiveDeployment | undefined) {
          if (sessions.has(proxy.key)) return sessions.get(proxy.key)
          const namespace = namespaceOf(proxy.gateway.metadata)
          const key = randomBytes(32).toString("hex")
          const created = yield* api
            .request<{ metadata: { uid: string } }>("POST", pathOf("Secret", namespace), {
              contentType: "application/json",
              json: sessionKeySecret(proxy, key)
            })
            .pipe(
              Effect.map((secret): string | undefined => secret.metadata.uid),
              // Already there: ours from before (its uid is on our Deployment), or the user's own key.
              Effect.catchIf(
                (error) => error.status === 409,
                () => Effect.succeed(live?.sessionSecretUid)
              )
            )
          sessions.set(proxy.key, created)
          return created
        })

        const ensure = Effect.fnUntraced(
          function* (proxy: ManagedProxy, live: LiveDeployment | undefined) {
            const namespace = namespaceOf(proxy.gateway.metadata)
            const gatewayName = proxy.gateway.metadata.name
            // Deleted behind our back (or just created, and not seen yet): apply everything again.
            if (live === undefined) forgetApplied(namespace, gatewayName)
            const rendered = (sessionUid: string | undefined) => {
              const objects = renderManagedProxy(proxy, xds, sessionUid)
              // The Deployment last: what it mounts and runs as exists before its pods start.
              const ordered: ReadonlyArray<KubeObject> = [objects.serviceAccount, objects.configMap, objects.service, objects.deployment]
              return ordered.filter((object) => applied.get(refOf(object).path) !== canonical(object))
            }
            const known = sessions.has(proxy.key)
            const changed = known ? rendered(sessions.get(proxy.key)) : undefined
            if (changed?.length === 0) return
            // Nothing is written, not even the session key, while a same-named object is someone else's.
            for (const ref of changed?.map(refOf) ?? renderedRefs(namespace, gatewayName)) {
              const existing = yield* api.request<Live>("GET", ref.path).pipe(Effect.catchIf(notFound, () => Effect.succeed(undefined)))
              if (existing !== undefined && !isOurs(existing, gatewayName)) {
                const message = `${ref.kind} ${namespace}/${ref.name} already exists and is not managed by agentplane; delete or rename it, or run this Gateway's proxy yourself (selfManaged)`
                if (problems.get(proxy.key) !== message) yield* Effect.logWarning(`not deploying the proxy of Gateway ${proxy.key}: ${message}`)
                problems.set(proxy.key, message)
                yield* events.warn(
                  { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", namespace, name: gatewayName },
                  "ManagedObjectConflict",
                  "Deploy",
                  message
                )
                return
              }
            }
            const pending = changed ?? rendered(yield* ensureSession(proxy, live))
            for (const object of pending) {
              const path = refOf(object).path
              yield* api.request("PATCH", `${path}?${APPLY_QUERY}`, { contentType: "application/apply-patch+yaml", json: object })
              applied.set(path, canonical(object))
            }
            problems.delete(proxy.key)
            if (pending.length > 0) yield* Effect.logInfo(`applied ${pending.map((o) => o.kind).join(", ")} of the proxy of Gateway ${proxy.key}`)
          },
          (effect, proxy: ManagedProxy) =>
            effect.pipe(
              Effect.catch((error) =>
                Effect.gen(function* () {
                  problems.set(proxy.key, `could not apply the proxy's objects: ${error.message}`)
                  yield* Effect.logWarning(`could not apply the proxy objects of Gateway ${proxy.key}: ${error.message}`)
                })
              )
            )
        )

        const deleteIfOurs = Effect.fnUntraced(function* (path: string, gatewayName: string) {
          const existing = yield* api.request<Live>("GET", path).pipe(Effect.catchIf(notFound, () => Effect.succeed(undefined)))
          if (existing === undefined || !isOurs(existing, gatewayName)) return
          yield* deleteExactly(path, existing.metadata.uid)
        })

        /** With the uid as precondition: a same-named object created meanwhile is never hit. */
        const deleteExactly = (path: string, uid: string) =>
          api.request("DELETE", path, { contentType: "application/json", json: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid } } }).pipe(
            Effect.catchIf(
              (error) => error.status === 404 || error.status === 409,
              () => Effect.void
            )
          )

        const remove = Effect.fnUntraced(
          function* (live: LiveDeployment) {
            const gatewayName = live.gatewayName
            const objectNames = names(gatewayName)
            // The Deployment last: while it exists, it is the record that the rest needs removing.
            yield* deleteIfOurs(pathOf("Service", live.namespace, objectNames.service), gatewayName)
            yield* deleteIfOurs(pathOf("ConfigMap", live.namespace, objectNames.configMap), gatewayName)
            yield* deleteIfOurs(pathOf("ServiceAccount", live.namespace, objectNames.serviceAccount), gatewayName)
            if (live.sessionSecretUid !== undefined) {
              yield* deleteExactly(pathOf("Secret", live.namespace, objectNames.sessionSecret), live.sessionSecretUid)
            }
            yield* deleteExactly(pathOf("Deployment", live.namespace, live.name), live.uid)
            forgetApplied(live.namespace, gatewayName)
            sessions.delete(live.gateway)
            problems.delete(live.gateway)
            yield* Effect.logInfo(`removed the proxy of Gateway ${live.gateway} (deleted, not programmed, or no longer managed)`)
          },
          (effect, live: LiveDeployment) =>
            effect.pipe(Effect.catch((error) => Effect.logWarning(`could not remove the proxy objects of Gateway ${live.gateway}: ${error.message}`)))
        )

        const reconcile = Effect.gen(function* () {
          const published = yield* store.current
          const listed = yield* deployments.current
          // Before the first configuration and the first list, absence means nothing.
          if (published.generation === 0 || listed === undefined) return
          // Without the Gateway label a Deployment cannot be traced to a Gateway: never touched.
          const live = listed.filter((deployment) => deployment.gatewayName !== "")
          const { proxies, refused } = desiredProxies(published.world, published.snapshot.gateways.keys())
          const liveByGateway = new Map(live.map((deployment) => [deployment.gateway, deployment]))
          if (yield* leader.isLeader) {
            yield* Effect.forEach(proxies, (proxy) => ensure(proxy, liveByGateway.get(proxy.key)), { concurrency: 4, discard: true })
            const wanted = new Set(proxies.map((proxy) => proxy.key))
            yield* Effect.forEach(
              live.filter((deployment) => !wanted.has(deployment.gateway)),
              remove,
              { concurrency: 4, discard: true }
            )
          } else {
            // A new leader starts from what is there, not from what this replica once applied.
            applied.clear()
            sessions.clear()
          }
          for (const key of [...problems.keys()]) if (!proxies.some((proxy) => proxy.key === key)) problems.delete(key)
          const next = new Map<string, ManagedGateway>()
          for (const proxy of proxies) {
            next.set(proxy.key, { deployment: liveByGateway.get(proxy.key), problem: problems.get(proxy.key) })
          }
          for (const [key, problem] of refused) next.set(key, { deployment: undefined, problem })
          const before = yield* SubscriptionRef.get(view)
          if (canonical([...before]) !== canonical([...next])) yield* SubscriptionRef.set(view, next)
        })

        const signals = Stream.mergeAll(
          [
            Stream.map(store.changes, () => undefined),
            deployments.changes,
            Stream.map(leader.changes, () => undefined),
            Stream.fromSchedule(Schedule.spaced(RESYNC)).pipe(
              Stream.map(() => {
                applied.clear()
              })
            )
          ],
          { concurrency: "unbounded" }
        )
        yield* signals.pipe(
          Stream.groupedWithin(Number.MAX_SAFE_INTEGER, COALESCE),
          Stream.runForEach(() => reconcile.pipe(Effect.catchCause((cause) => Effect.logError("deploying managed proxies failed", cause)))),
          Effect.forkScoped
        )
        return Deployer.of({
          managed: SubscriptionRef.get(view),
          changes: SubscriptionRef.changes(view).pipe(Stream.map(() => undefined))
        })
      })
    )

  /** `--agentgateway disabled`: proxies that exist are left alone, none is deployed. */
  static readonly disabled = Layer.succeed(Deployer, Deployer.of({ managed: Effect.succeed(new Map()), changes: Stream.never }))
}
