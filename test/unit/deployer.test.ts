// The deployer against an in-memory API, on the test clock: the leader applies
// a managed Gateway's objects in dependency order (the Deployment last) and
// only what changed, creates the session key once, touches nothing while a
// same-named object is someone else's (and says so in an Event), removes what
// a deleted Gateway left behind (the Deployment last, by uid), and a replica
// that does not lead writes nothing.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope, Stream, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import { Deployer } from "../../src/kube/deployer.ts"
import { EventRecorder } from "../../src/kube/events.ts"
import { LeaderElection } from "../../src/kube/leaderElection.ts"
import { type LiveDeployment, ManagedDeployments } from "../../src/kube/managedDeployments.ts"
import { FIELD_MANAGER, LABEL_GATEWAY, LABEL_MANAGED_BY, pathOf, SESSION_SECRET_UID_ANNOTATION } from "../../src/kube/managedObjects.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { translate } from "../../src/translate/translate.ts"
import { SnapshotStore } from "../../src/xds/snapshotStore.ts"
import { type World, worldFromObjects } from "../../src/world/world.ts"
import { memoryKubeApi, type MemoryKubeApi } from "../support/memoryKubeApi.ts"

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

const worldWith = (gateways: ReadonlyArray<string>, replicas = 1): World =>
  worldFromObjects(
    [
      {
        apiVersion: "gateway.kgateway.dev/v1alpha1",
        kind: "GatewayParameters",
        metadata: { name: "managed", namespace: "infra" },
        spec: { kube: { agentgateway: { replicas } } }
      },
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "GatewayClass",
        metadata: { name: "agents" },
        spec: {
          controllerName: defaultTranslateOptions.controllerName,
          parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "managed", namespace: "infra" }
        }
      },
      ...gateways.map((name) => ({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name, namespace: "team", uid: `gateway-${name}`, generation: 1 },
        spec: { gatewayClassName: "agents", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
      }))
    ].map(decoded)
  )

const XDS = { address: "agentplane.agentplane-system.svc:9978", tls: false }
const objectPaths = (gateway: string) => [
  pathOf("ServiceAccount", "team", gateway),
  pathOf("ConfigMap", "team", gateway),
  pathOf("Service", "team", gateway),
  pathOf("Deployment", "team", gateway)
]
/** Past the deployer's coalescing delay, and long enough for its reconcile (several requests) to finish. */
const settle = Effect.gen(function* () {
  const yields = Effect.repeat(Effect.yieldNow, { times: 50 })
  // The change reaches the deployer's signal stream, its coalescing timer runs out, its reconcile runs.
  yield* yields
  yield* TestClock.adjust("200 millis")
  yield* yields
})

const applies = (api: MemoryKubeApi) => api.requests.filter((request) => request.startsWith("PATCH ")).map((request) => request.slice(6).split("?")[0])

const replicasOf = (api: MemoryKubeApi, gateway: string) => (api.get(pathOf("Deployment", "team", gateway))!["spec"] as { replicas: number }).replicas

/** What the Deployment informer reports for the Deployment the deployer applied. */
const liveOf = (api: MemoryKubeApi, gateway: string): LiveDeployment => {
  const deployment = api.get(pathOf("Deployment", "team", gateway))!
  const labels = deployment.metadata["labels"] as Record<string, string>
  const annotations = (deployment.metadata["annotations"] ?? {}) as Record<string, string>
  return {
    namespace: "team",
    name: gateway,
    uid: deployment.metadata.uid!,
    gateway: `team/${gateway}`,
    gatewayName: labels[LABEL_GATEWAY]!,
    sessionSecretUid: annotations[SESSION_SECRET_UID_ANNOTATION],
    replicas: 1,
    availableReplicas: 1
  }
}

/** A deployer over `api`, with the managed Deployments and leadership the test sets. */
const deployerOn = (api: MemoryKubeApi, leading: boolean) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const live = yield* SubscriptionRef.make<ReadonlyArray<LiveDeployment> | undefined>([])
    const deployments = Layer.succeed(
      ManagedDeployments,
      ManagedDeployments.of({ current: SubscriptionRef.get(live), changes: SubscriptionRef.changes(live).pipe(Stream.map(() => undefined)) })
    )
    const leader = Layer.succeed(LeaderElection, LeaderElection.of({ isLeader: Effect.succeed(leading), changes: Stream.make(leading) }))
    const store = yield* Layer.buildWithScope(SnapshotStore.layer, scope)
    const layer = Deployer.layer(XDS).pipe(
      Layer.provide(Layer.mergeAll(deployments, leader, EventRecorder.layer("agentplane-0").pipe(Layer.provide(api.layer)), api.layer)),
      Layer.provide(Layer.succeedContext(store))
    )
    const context = yield* Layer.buildWithScope(layer, scope)
    const deployer = Context.get(context, Deployer)
    const publish = (world: World) =>
      Context.get(store, SnapshotStore).publish(translate(world, defaultTranslateOptions), [], world).pipe(Effect.andThen(settle))
    const setLive = (value: ReadonlyArray<LiveDeployment>) => SubscriptionRef.set(live, value).pipe(Effect.andThen(settle))
    return { deployer, publish, setLive, stop: Scope.close(scope, Exit.void) }
  })

describe("deployer", () => {
  it.effect("applies a managed Gateway's objects once, the Deployment last, and again only what changed", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      const { publish, setLive, stop } = yield* deployerOn(api, true)
      yield* publish(worldWith(["tools"]))
      assert.deepStrictEqual(applies(api), objectPaths("tools"))
      const labels = api.get(pathOf("Deployment", "team", "tools"))!.metadata["labels"] as Record<string, string>
      assert.strictEqual(labels[LABEL_MANAGED_BY], FIELD_MANAGER)
      assert.strictEqual(api.requests.filter((request) => request === `POST ${pathOf("Secret", "team")}`).length, 1, "one session key")
      assert.strictEqual(replicasOf(api, "tools"), 1)

      // The Deployment informer reports it: nothing to apply again.
      api.requests.length = 0
      yield* setLive([liveOf(api, "tools")])
      assert.deepStrictEqual(applies(api), [])
      // Other parameters: only the Deployment is rendered differently.
      yield* publish(worldWith(["tools"], 3))
      assert.deepStrictEqual(applies(api), [pathOf("Deployment", "team", "tools")])
      assert.strictEqual(replicasOf(api, "tools"), 3)
      assert.notInclude(api.requests, `POST ${pathOf("Secret", "team")}`, "the session key is created once")
      yield* stop
    })
  )

  it.effect("writes nothing while a same-named object is someone else's, and says why", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      api.put(pathOf("ConfigMap", "team", "tools"), {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "tools", namespace: "team" },
        data: { mine: "yes" }
      })
      const { deployer, publish, stop } = yield* deployerOn(api, true)
      yield* publish(worldWith(["tools"]))
      assert.deepStrictEqual(applies(api), [])
      assert.notInclude(api.requests, `POST ${pathOf("Secret", "team")}`)
      assert.deepStrictEqual(api.get(pathOf("ConfigMap", "team", "tools"))?.["data"], { mine: "yes" })
      const problem = (yield* deployer.managed).get("team/tools")?.problem
      assert.include(problem, "ConfigMap team/tools already exists and is not managed by agentplane")
      const events = api.paths().filter((path) => path.startsWith("/apis/events.k8s.io/v1/namespaces/team/events/"))
      assert.strictEqual(events.length, 1)
      assert.strictEqual(api.get(events[0]!)?.["reason"], "ManagedObjectConflict")
      yield* stop
    })
  )

  it.effect("removes what a deleted Gateway left behind, the Deployment last and only by its uid", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      const { publish, setLive, stop } = yield* deployerOn(api, true)
      yield* publish(worldWith(["tools"]))
      const live = liveOf(api, "tools")
      assert.isDefined(live.sessionSecretUid, "the Deployment records the session key it mounts")
      yield* setLive([live])
      api.requests.length = 0
      yield* publish(worldWith([]))
      const deletes = api.requests.filter((request) => request.startsWith("DELETE "))
      assert.strictEqual(deletes.at(-1), `DELETE ${pathOf("Deployment", "team", "tools")}`)
      assert.deepStrictEqual(
        api.paths().filter((path) => path.includes("/namespaces/team/") && !path.includes("/events/")),
        [],
        "Service, ConfigMap, ServiceAccount, session key and Deployment are gone"
      )
      yield* stop
    })
  )

  it.effect("writes nothing on a replica that does not lead", () =>
    Effect.gen(function* () {
      const api = memoryKubeApi()
      const { publish, stop } = yield* deployerOn(api, false)
      yield* publish(worldWith(["tools"]))
      assert.deepStrictEqual(
        api.requests.filter((request) => !request.startsWith("GET ")),
        []
      )
      yield* stop
    })
  )
})
