// Writes GatewayClass, Gateway and AgentgatewayPolicy status through the status subresource:
// only on the leader, only when something changed, keeping other
// controllers' conditions, retrying on conflict. Managed Gateways also get
// their addresses and their Deployment's availability. Policies get our entries of
// status.ancestors, other controllers' entries kept. Refused resources,
// unreadable objects and statuses the API server refuses also become Events.
import { Clock, Effect, Layer, Schedule, Stream } from "effect"
import { describeProblem } from "../world/source.ts"
import { capMessage, MESSAGE_BUDGET } from "../translate/conditionMessages.ts"
import type { Condition } from "../translate/conditions.ts"
import { gatewayKeyOf, type ConditionsStatus, type GatewayStatus, type ObjectStatus } from "../translate/status.ts"
import type { World } from "../world/world.ts"
import { DataPlane } from "../xds/dataPlane.ts"
import type { ConnectedProxy } from "../xds/dataPlane.ts"
import { gatewayWithDataPlane, proxiesByGateway } from "../xds/programmedStatus.ts"
import { RESOURCE_TYPE_URL, resourcesOf } from "../xds/snapshot.ts"
import { type Published, SnapshotStore } from "../xds/snapshotStore.ts"
import { EventRecorder, type EventTarget } from "./events.ts"
import { KubeApi } from "./kubeApi.ts"
import { kubeTime } from "./kubeTime.ts"
import { LeaderElection } from "./leaderElection.ts"
import { Deployer, type ManagedGateway } from "./deployer.ts"
import { gatewayWithManagedProxy } from "./managedStatus.ts"
import { isPolicyStatus, type LivePolicyStatus, mergePolicyStatus, POLICY_API_VERSION, policyStatusPath, withoutOurAncestors } from "./policyStatusMerge.ts"
import { canonical, type LiveStatus, mergeClassStatus, mergeGatewayStatus, replacementPatch } from "./statusMerge.ts"
import { WATCHED } from "./watchSource.ts"

const GATEWAY_API = "/apis/gateway.networking.k8s.io/v1"
const MAX_ATTEMPTS = 5
/** Changes within this window are written together. */
const COALESCE = "100 millis"
/**
 * Every object is read back within this period, in case a write failed or someone else changed our
 * conditions: a slice each second rather than all at once, so the API server sees a steady trickle
 * of reads instead of a burst of one per Gateway.
 */
const RECHECK_PERIOD_MS = 30_000
const RECHECK_TICK = "1 second"
/**
 * How long the connected proxies of a Gateway may take to acknowledge a new configuration before
 * it is reported Pending again: a push in flight is not news, and writing Pending then Programmed
 * for every change would double the writes, and the watch events, of every change.
 */
const ACK_GRACE_MS = 2_000

const pathOf = (status: ObjectStatus): string | undefined =>
  isPolicyStatus(status)
    ? policyStatusPath(status)
    : status.kind === "GatewayClass"
      ? `${GATEWAY_API}/gatewayclasses/${status.name}`
      : status.kind === "Gateway"
        ? `${GATEWAY_API}/namespaces/${(status as { namespace: string }).namespace}/gateways/${status.name}`
        : undefined

/** An object's status as agentplane would write it, and what it was computed from. */
interface Computed {
  readonly path: string
  readonly inputs: ReadonlyArray<unknown>
  readonly status: ObjectStatus
  readonly signature: string
}

/** Programmed is Pending only because connected proxies have not acknowledged the newest push yet. */
const awaitingAck = (status: ObjectStatus, own: ReadonlyArray<ConnectedProxy>): boolean =>
  own.length > 0 && "conditions" in status.status && status.status.conditions.some((c) => c.type === "Programmed" && c.reason === "Pending")

const sameElements = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) => a.length === b.length && a.every((x, i) => x === b[i])

const describeObject = (status: ObjectStatus) => ("namespace" in status && status.namespace !== undefined ? `${status.namespace}/${status.name}` : status.name)

const capConditions = <C extends Condition>(conditions: ReadonlyArray<C>): ReadonlyArray<C> =>
  conditions.map((c) => (c.message.length <= MESSAGE_BUDGET ? c : { ...c, message: capMessage(c.message) }))

/**
 * Every message within the Kubernetes limit, whatever stage wrote it: the translator already caps
 * its own, but later stages append to messages, and one over-long message makes the API server
 * refuse the whole status.
 */
const withCappedMessages = (entry: ObjectStatus): ObjectStatus => {
  if (isPolicyStatus(entry)) {
    return {
      ...entry,
      status: { ...entry.status, ancestors: entry.status.ancestors.map((ancestor) => ({ ...ancestor, conditions: capConditions(ancestor.conditions) })) }
    } as ObjectStatus
  }
  const status = entry.status as Partial<GatewayStatus> & { readonly conditions: ReadonlyArray<Condition> }
  return {
    ...entry,
    status: {
      ...status,
      conditions: capConditions(status.conditions),
      ...(status.listeners === undefined
        ? {}
        : { listeners: status.listeners.map((listener) => ({ ...listener, conditions: capConditions(listener.conditions) })) })
    }
  } as ObjectStatus
}

const apiVersionOf = (kind: string) => WATCHED.find((w) => w.kind === kind)?.apiVersion ?? "v1"

/** An object of the status writer, for the Event that says its status was refused. */
const eventTargetOf = (status: ObjectStatus): EventTarget => ({
  apiVersion: status.kind === "AgentgatewayPolicy" ? POLICY_API_VERSION : "gateway.networking.k8s.io/v1",
  kind: status.kind,
  name: status.name,
  ...("namespace" in status && status.namespace !== undefined ? { namespace: status.namespace } : {})
})

/** The live object as the writer reads it: its version, what says whose it is, its status. */
interface LiveObject {
  readonly metadata: { readonly resourceVersion: string }
  readonly spec?: { readonly controllerName?: string; readonly gatewayClassName?: string }
  readonly status?: LiveStatus
}

/**
 * Whether `live` belongs to this controller: a GatewayClass naming it, or a Gateway of such a class.
 * A policy is shared: every controller writes its own ancestor entries.
 */
const ours = (status: ObjectStatus, live: LiveObject, world: World, controllerName: string): boolean =>
  status.kind === "AgentgatewayPolicy"
    ? true
    : status.kind === "GatewayClass"
      ? live.spec?.controllerName === controllerName
      : world.gatewayClasses.get(live.spec?.gatewayClassName ?? "")?.spec.controllerName === controllerName

/** `controllerName`: statuses are written only on GatewayClasses naming it and on their Gateways. */
export const statusWriter = (controllerName: string) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const api = yield* KubeApi
      const store = yield* SnapshotStore
      const dataPlane = yield* DataPlane
      const leader = yield* LeaderElection
      const events = yield* EventRecorder
      const deployer = yield* Deployer
      /** What we last wrote (or found already in place), by object path; the least recently checked first. */
      const written = new Map<string, { readonly signature: string; readonly checkedAt: number }>()
      const remember = (path: string, signature: string) => {
        written.delete(path)
        written.set(path, { signature, checkedAt: Date.now() })
      }
      /**
       * Forgets the objects checked a period ago, so that the next pass reads them back; at most a
       * period's share of them per tick, which also spreads objects first checked together.
       */
      const forgetChecked = (): number => {
        const now = Date.now()
        let slice = Math.ceil((written.size * 1000) / RECHECK_PERIOD_MS)
        let forgotten = 0
        for (const [path, { checkedAt }] of written) {
          if (slice-- <= 0 || now - checkedAt < RECHECK_PERIOD_MS) break
          written.delete(path)
          forgotten++
        }
        return forgotten
      }

      /** Gateways whose proxies have not acknowledged the newest configuration, since when. */
      const pendingSince = new Map<string, number>()

      /** Each object's last computed status with what it was computed from (by identity). */
      const computed = new Map<string, Computed>()

      /** A status the API server would not store: a Warning Event on the object says why. */
      const refused = (status: ObjectStatus, message: string) =>
        Effect.gen(function* () {
          yield* Effect.logWarning(`the API server refused the status of ${status.kind} ${describeObject(status)}: ${message}`)
          yield* events.warn(
            eventTargetOf(status),
            "StatusWriteFailed",
            "WriteStatus",
            `the API server refused agentplane's status for this ${status.kind}, so the status shown is stale: ${message}`
          )
        })

      const writeOne = Effect.fnUntraced(
        function* ({ path, signature, status: computedStatus }: Computed, world: World) {
          const status = withCappedMessages(computedStatus)
          for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            const live = yield* api.request<LiveObject>("GET", path).pipe(
              Effect.catchIf(
                (error) => error.status === 404,
                () => Effect.succeed(undefined)
              )
            )
            if (live === undefined) return // deleted meanwhile
            // An object that could not be read is reported without knowing whose it is: the live object says.
            if (!ours(status, live, world, controllerName)) {
              remember(path, signature)
              return
            }
            const now = kubeTime(yield* Clock.currentTimeMillis)
            // Objects that could not be read have conditions only (no listeners to merge).
            const merged = isPolicyStatus(status)
              ? mergePolicyStatus(live.status as LivePolicyStatus | undefined, status.status.ancestors, controllerName, status.namespace, now)
              : status.kind === "Gateway" && "listeners" in status.status
                ? mergeGatewayStatus(live.status, status.status as GatewayStatus, now)
                : mergeClassStatus(live.status, status.status as ConditionsStatus, now)
            // A policy none of whose ancestors are ours, never written by anyone, stays without status.
            const nothingOfOurs = live.status === undefined && isPolicyStatus(status) && (merged as LivePolicyStatus).ancestors?.length === 0
            const unchanged = nothingOfOurs || canonical(merged) === canonical(live.status ?? {})
            if (unchanged) {
              remember(path, signature)
              return
            }
            const patched = yield* api
              .request("PATCH", `${path}/status`, {
                contentType: "application/merge-patch+json",
                // The resourceVersion makes the write conditional: a concurrent change gives 409 and a fresh merge.
                json: { metadata: { resourceVersion: live.metadata.resourceVersion }, status: replacementPatch(live.status, merged) }
              })
              .pipe(
                Effect.as("written" as const),
                Effect.catchIf(
                  (error) => error.status === 409,
                  () => Effect.succeed("conflict" as const)
                ),
                Effect.catchIf(
                  (error) => error.status === 404,
                  () => Effect.succeed("gone" as const)
                ),
                // The API server refused the status itself (invalid, forbidden): retrying the same write
                // cannot help, and a log line alone leaves the object's stale status unexplained.
                Effect.catchIf(
                  (error) => error.status >= 400 && error.status < 500,
                  (error) => refused(status, error.message).pipe(Effect.as("refused" as const))
                )
              )
            if (patched === "written") {
              remember(path, signature)
              yield* Effect.logDebug(`wrote status of ${status.kind} ${path.split("/").slice(-1)[0]}`)
              return
            }
            if (patched !== "conflict") return
          }
          yield* Effect.logWarning(`status of ${path} kept changing under us; will try again`)
        },
        (effect, { status }) =>
          effect.pipe(Effect.catch((error) => Effect.logWarning(`could not write the status of ${status.kind} ${status.name}: ${error.message}`)))
      )

      /**
       * The statuses that differ from what was last written. Only objects whose inputs changed are
       * computed again: a change to one Gateway costs one Gateway, however many there are.
       */
      const outdated = (published: Published, proxies: ReadonlyArray<ConnectedProxy>, managed: ReadonlyMap<string, ManagedGateway>) => {
        const byGateway = proxiesByGateway(proxies)
        const now = Date.now()
        const stale: Array<Computed> = []
        const seen = new Set<string>()
        for (const entry of published.statuses) {
          const path = pathOf(entry)
          if (path === undefined) continue
          seen.add(path)
          const key = entry.kind === "Gateway" ? gatewayKeyOf(entry) : undefined
          const view = key === undefined ? undefined : published.snapshot.gateways.get(key)
          const own = key === undefined ? [] : (byGateway.get(key) ?? [])
          const state = key === undefined ? undefined : managed.get(key)
          const service = key === undefined ? undefined : published.world.services.get(key)
          const inputs = [entry, view, state, service, ...own]
          let done = computed.get(path)
          if (done === undefined || !sameElements(done.inputs, inputs)) {
            const status = gatewayWithManagedProxy(gatewayWithDataPlane(entry, view, own), state, service)
            done = { path, inputs, status, signature: canonical(status.status) }
            computed.set(path, done)
          }
          const waiting = awaitingAck(done.status, own)
          if (!waiting) pendingSince.delete(path)
          if (written.get(path)?.signature === done.signature) continue
          if (waiting) {
            const since = pendingSince.get(path) ?? now
            pendingSince.set(path, since)
            // Checked again at the latest on the next re-check tick.
            if (now - since < ACK_GRACE_MS) continue
          }
          stale.push(done)
        }
        // A policy that applies to none of our Gateways (any more) has no entry to report: it is
        // written with none of ours, which removes what we wrote earlier and leaves the rest.
        for (const policy of published.world.agentgatewayPolicies.values()) {
          const entry = withoutOurAncestors(policy)
          const path = policyStatusPath(entry)
          if (seen.has(path)) continue
          seen.add(path)
          const before = computed.get(path)
          const done: Computed =
            before !== undefined && before.inputs[0] === policy ? before : { path, inputs: [policy], status: entry, signature: canonical(entry.status) }
          computed.set(path, done)
          if (written.get(path)?.signature !== done.signature) stale.push(done)
        }
        for (const path of pendingSince.keys()) if (!seen.has(path)) pendingSince.delete(path)
        for (const path of computed.keys()) if (!seen.has(path)) computed.delete(path)
        return stale
      }

      const reconcile = Effect.gen(function* () {
        if (!(yield* leader.isLeader)) {
          written.clear()
          return
        }
        const published = yield* store.current
        if (published.generation === 0) return
        const proxies = yield* dataPlane.proxies
        yield* Effect.forEach(outdated(published, proxies, yield* deployer.managed), (entry) => writeOne(entry, published.world), {
          concurrency: 4,
          discard: true
        })

        for (const problem of published.problems) {
          if (problem.kind === undefined || problem.name === undefined) continue
          const target: EventTarget = {
            apiVersion: apiVersionOf(problem.kind),
            kind: problem.kind,
            name: problem.name,
            ...(problem.namespace === undefined ? {} : { namespace: problem.namespace })
          }
          yield* events.warn(target, "InvalidObject", "Decode", describeProblem(problem))
        }
        for (const proxy of proxies) {
          const desired = resourcesOf(published.snapshot.gateways.get(proxy.gateway) ?? new Map(), RESOURCE_TYPE_URL)
          const [namespace, name] = proxy.gateway.split("/") as [string, string]
          for (const [resource, versions] of proxy.refused) {
            const message = versions.get(desired.get(resource)?.version ?? "")
            if (message === undefined) continue
            yield* events.warn(
              { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", namespace, name },
              "ProxyRejectedResource",
              "Program",
              `proxy ${proxy.nodeId} refused ${resource}: ${message}`
            )
          }
        }
      })

      const signals = Stream.mergeAll(
        [
          Stream.map(store.changes, () => undefined),
          Stream.map(dataPlane.changes, () => undefined),
          Stream.map(leader.changes, () => undefined),
          deployer.changes,
          // A tick is a pass only when it has something to do: objects to read back, or a grace to end.
          Stream.fromSchedule(Schedule.spaced(RECHECK_TICK)).pipe(
            Stream.filter(() => forgetChecked() > 0 || pendingSince.size > 0),
            Stream.map(() => undefined)
          )
        ],
        { concurrency: "unbounded" }
      )
      yield* signals.pipe(
        Stream.groupedWithin(Number.MAX_SAFE_INTEGER, COALESCE),
        Stream.runForEach(() => reconcile.pipe(Effect.catchCause((cause) => Effect.logError("status writing failed", cause)))),
        Effect.forkScoped
      )
    })
  )
