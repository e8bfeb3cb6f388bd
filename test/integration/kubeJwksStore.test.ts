// Remote JWKS persisted in the cluster, against the real API server: only the
// leader fetches and stores each key set in a labelled ConfigMap; every
// replica reads them, so all see identical bytes; a replica that starts
// while the identity provider is down serves the stored keys; the leader
// deletes a ConfigMap no request needs, and ignores (then sweeps) one it
// cannot use. `serve` in a cluster runs the store: it sweeps orphans at start.
import { createServer, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { exportJWK, generateKeyPair } from "jose"
import { writeFileSync } from "node:fs"
import { Effect, Layer, Logger, ManagedRuntime, Option, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { JwksFetcher } from "../../src/jwks/jwksFetcher.ts"
import { JwksKeys } from "../../src/jwks/jwksKeys.ts"
import { JWKS_STORE_DATA_KEY, jwksStore, jwksStoreName } from "../../src/kube/jwksStore.ts"
import { KubeApi } from "../../src/kube/kubeApi.ts"
import { LeaderElection } from "../../src/kube/leaderElection.ts"
import { Metrics } from "../../src/telemetry/metrics.ts"
import type { JwksKeySets, JwksRequest } from "../../src/world/jwksKeySets.ts"
import { type Cluster, startCluster } from "../harness/kube/cluster.ts"
import { eventually, installOurCrds, type Kube, kubeClient } from "../support/kube.ts"
import { type KubeAgentplane, startKubeAgentplane } from "../support/kubeAgentplane.ts"

const NAMESPACE = "jwks-home"
const CONFIGMAPS = `/api/v1/namespaces/${NAMESPACE}/configmaps`

let cluster: Cluster
let kube: Kube
let idp: Server
let idpUrl = ""
let answer: (response: ServerResponse) => void = (response) => response.writeHead(503).end()
const replicas: Array<ManagedRuntime.ManagedRuntime<JwksKeys | JwksFetcher | LeaderElection, unknown>> = []
let served: KubeAgentplane | undefined

const replica = (identity: string, options: { readonly kubeconfig?: string; readonly logs?: Array<string> } = {}) => {
  const layer = jwksStore(NAMESPACE).pipe(
    Layer.provideMerge(JwksFetcher.layer()),
    Layer.provideMerge(LeaderElection.layer({ namespace: NAMESPACE, name: "agentplane", identity, leaseDurationSeconds: 4 })),
    Layer.provideMerge(Metrics.layer),
    Layer.provideMerge(KubeApi.layer(options.kubeconfig ?? cluster.kubeconfigPath))
  )
  const logs = options.logs
  const runtime = ManagedRuntime.make(
    logs === undefined
      ? layer
      : layer.pipe(Layer.provide(Logger.layer([Logger.make((log) => void logs.push(String(log.message)))], { mergeWithExisting: true })))
  )
  replicas.push(runtime)
  return runtime
}
type Replica = ReturnType<typeof replica>

const isLeader = (runtime: Replica) => runtime.runPromise(Effect.flatMap(LeaderElection, (election) => election.isLeader))
const track = (runtime: Replica, requests: ReadonlyArray<JwksRequest>) => runtime.runPromise(Effect.flatMap(JwksKeys, (keys) => keys.track(requests)))
/** The first key sets the replica offers that satisfy `predicate` (the store is read before any are offered). */
const keySetsWhere = (runtime: Replica, predicate: (sets: JwksKeySets) => boolean) =>
  runtime.runPromise(
    Effect.flatMap(JwksKeys, (keys) => Stream.runHead(Stream.filter(keys.keySets, predicate))).pipe(Effect.map(Option.getOrThrow), Effect.timeout("20 seconds"))
  )
const kidsOf = (jwks: string | undefined) => (JSON.parse(jwks ?? '{"keys":[]}') as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid)

const keysWith = async (kid: string) => {
  const { publicKey } = await generateKeyPair("ES256", { extractable: true })
  const body = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256" }] })
  return (response: ServerResponse) => response.writeHead(200, { "content-type": "application/json" }).end(body)
}

beforeAll(async () => {
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await kube.must("POST", "/api/v1/namespaces", { metadata: { name: NAMESPACE } })
  // serve watches GatewayParameters too, and translates nothing before every watch has listed.
  await installOurCrds(kube)
  idp = createServer((_request, response) => answer(response))
  await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve))
  idpUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/.well-known/jwks.json`
}, 45 * 60_000)

afterAll(async () => {
  await served?.runtime.dispose()
  for (const runtime of replicas) await runtime.dispose().catch(() => undefined)
  idp?.closeAllConnections()
  idp?.close()
  await cluster?.stop()
}, 60_000)

describe("JWKS store in a cluster", () => {
  it("the leader fetches and stores; every replica serves the same bytes; a restart while the provider is down keeps the keys; unneeded ConfigMaps go", async () => {
    const request: JwksRequest = { key: "a1b2", url: idpUrl, refreshMs: 300_000 }
    const name = jwksStoreName(request.key)
    answer = await keysWith("first")

    // A ConfigMap with the label that is not a key set is ignored, then swept by the leader.
    await kube.must("POST", CONFIGMAPS, {
      metadata: { name: "jwks-store-garbage", labels: { "app.kubernetes.io/component": "jwks-store" } },
      data: { [JWKS_STORE_DATA_KEY]: "not json" }
    })

    const leader = replica("first-leader")
    await eventually(async () => ((await isLeader(leader)) ? true : undefined), "the first replica leads")
    const follower = replica("follower")
    expect(await isLeader(follower)).toBe(false)
    await track(leader, [request])
    await track(follower, [request])

    const stored = await eventually(async () => (await kube.call("GET", `${CONFIGMAPS}/${name}`)).body?.data?.[JWKS_STORE_DATA_KEY], "the stored key set")
    const document = JSON.parse(stored)
    expect(document).toMatchObject({ requestKey: request.key, url: idpUrl })
    expect(Date.parse(document.fetchedAt)).toBeGreaterThan(Date.now() - 60_000)
    expect(document.jwks.keys.map((key: { kid: string }) => key.kid)).toEqual(["first"])
    const configMap = await kube.must("GET", `${CONFIGMAPS}/${name}`)
    expect(configMap.metadata.labels["app.kubernetes.io/component"]).toBe("jwks-store")

    const [onLeader, onFollower] = await Promise.all(
      [leader, follower].map((runtime) => keySetsWhere(runtime, (sets) => sets.get(request.key)?.jwks !== undefined))
    )
    expect(kidsOf(onLeader!.get(request.key)?.jwks)).toEqual(["first"])
    expect(onFollower!.get(request.key)).toEqual(onLeader!.get(request.key))
    // Only the leader fetches.
    expect((await follower.runPromise(Effect.flatMap(JwksFetcher, (fetcher) => fetcher.current))).size).toBe(0)
    await eventually(
      async () => ((await kube.call("GET", `${CONFIGMAPS}/jwks-store-garbage`)).status === 404 ? true : undefined),
      "the unusable ConfigMap swept"
    )

    // The provider goes down; the leader goes away; a fresh replica starts: it serves the stored keys.
    answer = (response) => response.writeHead(503).end()
    await leader.dispose()
    await eventually(async () => ((await isLeader(follower)) ? true : undefined), "the follower takes over", 20_000)
    const restarted = replica("restarted")
    await track(restarted, [request])
    const whileDown = await keySetsWhere(restarted, (sets) => sets.get(request.key)?.jwks !== undefined)
    expect(whileDown.get(request.key)?.jwks).toBe(onLeader!.get(request.key)?.jwks)
    expect(whileDown.get(request.key)?.fetchedAt).toBe(document.fetchedAt)

    // The new leader refetches only at fetchedAt + refresh, so it has not failed yet; force a refetch
    // with a shorter interval: it fails, reports why, and the stored keys stay.
    const eager: JwksRequest = { ...request, refreshMs: 1_000 }
    await track(follower, [eager])
    const failing = await keySetsWhere(follower, (sets) => sets.get(request.key)?.error !== undefined)
    expect(failing.get(request.key)).toEqual({
      jwks: onLeader!.get(request.key)?.jwks,
      fetchedAt: document.fetchedAt,
      error: "the identity provider answered HTTP 503 (expected 200)"
    })
    expect(JSON.parse((await kube.must("GET", `${CONFIGMAPS}/${name}`)).data[JWKS_STORE_DATA_KEY]).fetchedAt).toBe(document.fetchedAt)

    // Back up with rotated keys: stored, and every replica sees them.
    answer = await keysWith("rotated")
    await Promise.all(
      [follower, restarted].map((runtime) =>
        keySetsWhere(runtime, (sets) => kidsOf(sets.get(request.key)?.jwks).includes("rotated") && sets.get(request.key)?.error === undefined)
      )
    )

    // No policy needs the key set any more: its ConfigMap is deleted.
    await track(follower, [])
    await eventually(async () => ((await kube.call("GET", `${CONFIGMAPS}/${name}`)).status === 404 ? true : undefined), "the ConfigMap deleted")
    await keySetsWhere(restarted, (sets) => !sets.has(request.key))
  }, 120_000)

  it("serve in a cluster runs the store: the leader deletes key sets no policy needs, left from before its start", async () => {
    // A key set stored for a policy that is gone (agentplane serves the Lease's namespace, "default" here).
    const orphan: JwksRequest = { key: "gone", url: "http://idp.example/jwks", refreshMs: 300_000 }
    await kube.must("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: jwksStoreName(orphan.key), labels: { "app.kubernetes.io/component": "jwks-store" } },
      data: {
        [JWKS_STORE_DATA_KEY]: JSON.stringify({
          requestKey: orphan.key,
          url: orphan.url,
          fetchedAt: "2026-01-01T00:00:00Z",
          jwks: { keys: [{ kty: "OKP", crv: "Ed25519", kid: "old", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }] }
        })
      }
    })
    await kube.must("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "unrelated", labels: { "app.kubernetes.io/component": "other" } } })
    served = await startKubeAgentplane(cluster, { identity: "serving" })
    await eventually(
      async () => ((await kube.call("GET", `/api/v1/namespaces/default/configmaps/${jwksStoreName(orphan.key)}`)).status === 404 ? true : undefined),
      "the orphaned key set deleted"
    )
    expect((await kube.call("GET", "/api/v1/namespaces/default/configmaps/unrelated")).status).toBe(200)
  }, 60_000)

  it("without the Role, the store says which grant is missing, and offers no key sets", async () => {
    await kube.must("POST", `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { metadata: { name: "no-role" } })
    const request = await kube.must("POST", `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/no-role/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 }
    })
    const kubeconfig = `${cluster.dataDir}/no-role.kubeconfig`
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "harness", cluster: { server: cluster.server, "certificate-authority": cluster.caFile } }],
        users: [{ name: "no-role", user: { token: request.status.token } }],
        contexts: [{ name: "no-role", context: { cluster: "harness", user: "no-role" } }],
        "current-context": "no-role"
      })
    )
    const logs: Array<string> = []
    const forbidden = replica("no-role", { kubeconfig, logs })
    await forbidden.runPromise(Effect.void)
    const line = await eventually(async () => logs.find((l) => l.startsWith(`watch of the JWKS store ConfigMaps in ${NAMESPACE} failed`)), "the watch failure")
    expect(line).toContain(
      `grant list and watch on configmaps in ${NAMESPACE} (Role agentplane-jwks-store, manifests/install/jwks-store.yaml or the Helm chart)`
    )
    const offered = await forbidden.runPromise(Effect.flatMap(JwksKeys, (keys) => Stream.runHead(keys.keySets)).pipe(Effect.timeoutOption("2 seconds")))
    expect(Option.isNone(offered), "no key sets before the store is listed").toBe(true)
    // Retried with backoff, reported once.
    expect(logs.filter((l) => l.startsWith("watch of the JWKS store ConfigMaps")).length).toBe(1)
  }, 60_000)
})
