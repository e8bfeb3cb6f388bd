// API keys from a Secret in a cluster, end to end: agentplane in Kubernetes mode (its own
// process, against the harness API server) reads the one Secret an AgentgatewayPolicy names, and
// the real proxy (authenticated with its ServiceAccount token) enforces it; an edit of the
// Secret changes which key the proxy takes, without touching the policy.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { eventually as kubeEventually, installOurCrds, type Kube, kubeClient, serviceAccountToken } from "../support/kube.ts"
import { POLICIES, policy } from "../support/policies.ts"
import type { Agentplane } from "./harness/agentplane.ts"
import { startKubeAgentplaneProcess } from "./harness/kubeAgentplane.ts"
import { serviceObject } from "./harness/manifests.ts"
import { startOwnMcpServer, type Peer } from "./harness/peers.ts"
import { freePorts } from "./harness/ports.ts"
import { stopAllProcesses, useProcesses } from "./harness/processes.ts"
import { describeThroughProxies, startProxy, useStrictInterop, type RunningProxy } from "./harness/proxy.ts"
import { eventually } from "./harness/readiness.ts"

useProcesses()

const NS = "e2e"
const GATEWAY = "keyed"
const FIRST_KEY = "k-kube-first-7d2a"
const SECOND_KEY = "k-kube-second-90c4"
const UNREFERENCED = "k-kube-unreferenced-3e81"
const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"

let cluster: Cluster
let kube: Kube
let agentplane: Agentplane
let own: Peer
let port: number
let tokenDir: string

const url = () => `http://127.0.0.1:${port}/mcp`

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "agentplane-e2e", version: "1.0.0" } }
})
const initialize = (key?: string) =>
  fetch(url(), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` })
    },
    body: INITIALIZE
  })

beforeAll(async () => {
  own = await startOwnMcpServer("own")
  ;[port] = (await freePorts(1)) as [number]
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await installOurCrds(kube)
  await kube.must("POST", "/api/v1/namespaces", { metadata: { name: NS } })
  await kube.must("POST", `${GATEWAYS}/gatewayclasses`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "agentgateway" },
    spec: { controllerName: "kgateway.dev/kgateway" }
  })
  await kube.must("POST", `${GATEWAYS}/namespaces/${NS}/gateways`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: GATEWAY, namespace: NS },
    spec: { gatewayClassName: "agentgateway", listeners: [{ name: "apikey", port, protocol: "kgateway.dev/mcp" }] }
  })
  await kube.must(
    "POST",
    `/api/v1/namespaces/${NS}/services`,
    serviceObject({ name: "own", namespace: NS, ports: [{ name: "mcp", port: own.port, appProtocol: "kgateway.dev/mcp" }] })
  )
  await kube.must("POST", `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: "api-keys" }, stringData: { ci: FIRST_KEY } })
  await kube.must("POST", `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: "other-keys" }, stringData: { ci: UNREFERENCED } })
  await kube.must(
    "POST",
    `${POLICIES}/namespaces/${NS}/agentgatewaypolicies`,
    policy(
      "api-key",
      {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: GATEWAY, sectionName: "apikey" }],
        traffic: { apiKeyAuthentication: { secretRef: { name: "api-keys" } } }
      },
      NS
    )
  )
  agentplane = await startKubeAgentplaneProcess(cluster.kubeconfigPath)
  // The proxy presents its ServiceAccount's token, as in a cluster.
  tokenDir = mkdtempSync(join(tmpdir(), "agentplane-e2e-token-"))
  writeFileSync(join(tokenDir, "xds-token"), await serviceAccountToken(kube, NS, GATEWAY), { mode: 0o600 })
}, 45 * 60_000)

afterAll(async () => {
  await stopAllProcesses()
  await cluster?.stop()
  if (tokenDir !== undefined) rmSync(tokenDir, { recursive: true, force: true })
}, 60_000)

describe("kube policies: control plane", () => {
  it("the policy is Accepted (Valid) in the cluster, and no key appears in agentplane's log", async () => {
    const entry = await kubeEventually(async () => {
      const read = await kube.must("GET", `${POLICIES}/namespaces/${NS}/agentgatewaypolicies/api-key`)
      const ancestor = read.status?.ancestors?.find((a: any) => a.controllerName === "kgateway.dev/kgateway")
      return ancestor?.conditions?.some((c: any) => c.type === "Accepted" && c.reason === "Valid") ? ancestor : undefined
    }, "Accepted=Valid on the policy")
    expect(entry.ancestorRef).toMatchObject({ kind: "Gateway", name: GATEWAY, sectionName: "apikey" })
    for (const key of [FIRST_KEY, UNREFERENCED]) expect(agentplane.process.log()).not.toContain(key)
  })
})

describeThroughProxies("kube policies", (release) => {
  let proxy: RunningProxy | undefined
  const strict = useStrictInterop({ proxy: () => proxy, agentplane: () => agentplane, gateway: `${NS}/${GATEWAY}` })

  beforeAll(async () => {
    proxy = await startProxy({ release, xdsPort: agentplane.xdsPort, gateway: GATEWAY, namespace: NS, env: { XDS_AUTH_TOKEN: join(tokenDir, "xds-token") } })
  }, 180_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  it("the referenced Secret's key gets 200; a wrong key, none, or an unreferenced Secret's key 401", async () => {
    await eventually(
      () => initialize(FIRST_KEY).then((r) => r.status),
      (status) => status === 200,
      { what: "the Secret's key accepted" }
    )
    expect((await initialize("k-wrong")).status).toBe(401)
    expect((await initialize()).status).toBe(401)
    expect((await initialize(UNREFERENCED)).status).toBe(401)
  })

  it("an edit of the Secret reaches the proxy: the new key gets 200, the old one 401", async () => {
    await kube.must("PATCH", `/api/v1/namespaces/${NS}/secrets/api-keys`, { stringData: { ci: SECOND_KEY } }, "application/merge-patch+json")
    await eventually(
      () => initialize(SECOND_KEY).then((r) => r.status),
      (status) => status === 200,
      { what: "the edited key accepted" }
    )
    expect((await initialize(FIRST_KEY)).status).toBe(401)
    // Put the first key back, so the next release's half starts from the same Secret.
    await kube.must("PATCH", `/api/v1/namespaces/${NS}/secrets/api-keys`, { stringData: { ci: FIRST_KEY } }, "application/merge-patch+json")
    await eventually(
      () => initialize(FIRST_KEY).then((r) => r.status),
      (status) => status === 200,
      { what: "the first key accepted again" }
    )
    for (const key of [FIRST_KEY, SECOND_KEY, UNREFERENCED]) expect(agentplane.process.log()).not.toContain(key)
  })

  strict.itHeldStrictly()
})
