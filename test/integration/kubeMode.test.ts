// agentplane in Kubernetes mode against a real API server: statuses, xDS
// deltas from API writes, surviving an API server restart, CRD validation,
// Events, foreign conditions kept, our own conditions restored.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { condition, eventually, installOurCrds, type Kube, kubeClient, serviceAccountToken } from "../support/kube.ts"
import { type KubeAgentplane, startKubeAgentplane, tearDown } from "../support/kubeAgentplane.ts"
import { TestProxy } from "../support/xdsClient.ts"

const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"
const PARAMETERS = "/apis/gateway.kgateway.dev/v1alpha1"

let cluster: Cluster
let kube: Kube
let agentplane: KubeAgentplane | undefined
let xdsAddress: string
/** A token of the ServiceAccount default/mcp-gateway: the only identity that may read that Gateway. */
let proxyToken: string
const proxies: Array<TestProxy> = []

const service = (name: string, namespace: string, port: number) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace },
  spec: { ports: [{ name: "mcp", port, appProtocol: "kgateway.dev/mcp" }] }
})

const gateway = () => kube.must("GET", `${GATEWAYS}/namespaces/default/gateways/mcp-gateway`)

beforeAll(async () => {
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await installOurCrds(kube)
  for (const name of ["gwtest", "other"]) await kube.must("POST", "/api/v1/namespaces", { metadata: { name } })
  agentplane = await startKubeAgentplane(cluster, { identity: "test-instance" })
  xdsAddress = agentplane.xdsAddress
  proxyToken = await serviceAccountToken(kube, "default", "mcp-gateway")
}, 45 * 60_000)

afterAll(() => tearDown(proxies, agentplane, cluster), 60_000)

describe("Kubernetes mode", () => {
  it("writes statuses for the EP's objects: Accepted, and Pending until a proxy acknowledges", async () => {
    await kube.must("POST", `${PARAMETERS}/namespaces/default/gatewayparameters`, {
      apiVersion: "gateway.kgateway.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "kgateway" },
      spec: { selfManaged: {} }
    })
    await kube.must("POST", `${GATEWAYS}/gatewayclasses`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "mcp" },
      spec: {
        controllerName: "kgateway.dev/kgateway",
        parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "kgateway", namespace: "default" }
      }
    })
    await kube.must("POST", `${GATEWAYS}/namespaces/default/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "mcp-gateway" },
      spec: {
        gatewayClassName: "mcp",
        listeners: [{ name: "http", port: 8080, protocol: "kgateway.dev/mcp", allowedRoutes: { namespaces: { from: "All" } } }]
      }
    })
    await kube.must("POST", "/api/v1/namespaces/gwtest/services", service("mcp", "gwtest", 8080))

    const gatewayClass = await eventually(async () => {
      const read = await kube.must("GET", `${GATEWAYS}/gatewayclasses/mcp`)
      return condition(read, "Accepted")?.status === "True" ? read : undefined
    }, "GatewayClass Accepted")
    expect(condition(gatewayClass, "Accepted").observedGeneration).toBe(1)
    const written = await eventually(async () => {
      const read = await gateway()
      return read.status?.listeners?.[0]?.attachedRoutes === 1 ? read : undefined
    }, "Gateway status with one target")
    expect(condition(written, "Accepted")).toMatchObject({ status: "True", observedGeneration: 1 })
    expect(condition(written, "Programmed")).toMatchObject({ status: "False", reason: "Pending" })
    expect(condition(written, "Programmed").lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  it("keeps another controller's conditions when it writes", async () => {
    const live = await gateway()
    const foreign = { type: "example.com/Audited", status: "True", reason: "Audited", message: "checked", lastTransitionTime: "2026-01-01T00:00:00Z" }
    await kube.must(
      "PATCH",
      `${GATEWAYS}/namespaces/default/gateways/mcp-gateway/status`,
      {
        status: { ...live.status, conditions: [...live.status.conditions, foreign] }
      },
      "application/merge-patch+json"
    )
    // A change that makes agentplane write the Gateway's status again.
    await kube.must("POST", "/api/v1/namespaces/gwtest/services", service("second", "gwtest", 9000))
    const after = await eventually(async () => {
      const read = await gateway()
      return read.status.listeners[0].attachedRoutes === 2 ? read : undefined
    }, "the status with two targets")
    expect(condition(after, "example.com/Audited")).toEqual(foreign)
  })

  it("puts its conditions back when someone else changes them, within the re-check period", async () => {
    const live = await gateway()
    const accepted = condition(live, "Accepted")
    await kube.must(
      "PATCH",
      `${GATEWAYS}/namespaces/default/gateways/mcp-gateway/status`,
      {
        status: { ...live.status, conditions: live.status.conditions.map((c: { type: string }) => (c.type === "Accepted" ? { ...c, message: "tampered" } : c)) }
      },
      "application/merge-patch+json"
    )
    expect(condition(await gateway(), "Accepted")?.message).toBe("tampered")
    // Nothing else changes: only reading the object back (every 30 s) can notice.
    await eventually(async () => (condition(await gateway(), "Accepted")?.message === accepted?.message ? true : undefined), "the restored condition", 45_000)
  }, 60_000)

  it("turns Programmed True once a proxy acknowledges, and streams API changes as deltas", async () => {
    const proxy = new TestProxy({ address: xdsAddress, gateway: "mcp-gateway", namespace: "default", token: proxyToken })
    proxies.push(proxy)
    await proxy.until(() => proxy.resourceHoldings().has("backend/gwtest/second:9000"), "the gateway's resources")
    await eventually(async () => (condition(await gateway(), "Programmed")?.status === "True" ? true : undefined), "Programmed=True")

    const before = proxy.responses.length
    await kube.must("POST", "/api/v1/namespaces/other/services", service("third", "other", 7000))
    await proxy.until(() => proxy.resourceHoldings().has("backend/other/third:7000"), "the new Service's backend")
    expect(
      proxy.responses
        .slice(before)
        .flatMap((r) => r.resources.map((x) => x.name))
        .sort()
    ).toEqual(["backend/default/mcp-gateway.http.mcp", "backend/other/third:7000"])

    await kube.must("DELETE", "/api/v1/namespaces/other/services/third")
    await proxy.until(() => !proxy.resourceHoldings().has("backend/other/third:7000"), "the removal")
    expect(proxy.responses.at(-1)!.removedResources).toEqual(["backend/other/third:7000"])
  })

  it("does not rewrite the Gateway's status for configuration pushes its proxy acknowledges", async () => {
    await kube.must("POST", "/api/v1/namespaces/gwtest/services", service("churn", "gwtest", 9100))
    const proxy = new TestProxy({ address: xdsAddress, gateway: "mcp-gateway", namespace: "default", token: proxyToken, record: false })
    proxies.push(proxy)
    await proxy.until(() => proxy.resourceHoldings().has("backend/gwtest/churn:9100"), "the new Service")
    await eventually(async () => (condition(await gateway(), "Programmed")?.status === "True" ? true : undefined), "Programmed=True")
    await new Promise((resolve) => setTimeout(resolve, 500))
    const before = (await gateway()).metadata.resourceVersion
    // Changes faster than status writes are coalesced: each is Pending for the moment its push is in flight.
    for (let port = 9101; port < 9140; port++) {
      await kube.must(
        "PATCH",
        "/api/v1/namespaces/gwtest/services/churn",
        { spec: { ports: [{ name: "mcp", port, appProtocol: "kgateway.dev/mcp" }] } },
        "application/merge-patch+json"
      )
      await new Promise((resolve) => setTimeout(resolve, 15))
    }
    await proxy.until(() => proxy.resourceHoldings().has("backend/gwtest/churn:9139"), "the last change")
    await new Promise((resolve) => setTimeout(resolve, 500))
    const after = await gateway()
    expect(condition(after, "Programmed")?.status).toBe("True")
    expect(after.metadata.resourceVersion).toBe(before)
    await kube.must("DELETE", "/api/v1/namespaces/gwtest/services/churn")
  })

  it("reconnects after the API server restarts and loses nothing", async () => {
    const proxy = proxies[0]!
    await cluster.restartApiServer()
    await kube.must("POST", "/api/v1/namespaces/other/services", service("after-restart", "other", 7100))
    await proxy.until(() => proxy.resourceHoldings().has("backend/other/after-restart:7100"), "a Service created after the restart", 40_000)
    const read = await eventually(
      async () => {
        const live = await gateway()
        return live.status.listeners[0].attachedRoutes === 3 ? live : undefined
      },
      "the status after the restart",
      30_000
    )
    expect(condition(read, "Programmed").status).toBe("True")
  }, 90_000)

  it("records an Event when a proxy refuses a resource", async () => {
    const refused = "route/default/mcp-gateway.http.mcp"
    const picky = new TestProxy({
      address: xdsAddress,
      gateway: "mcp-gateway",
      namespace: "default",
      token: proxyToken,
      judge: (response) => (response.resources.some((r) => r.name === refused) ? JSON.stringify([{ key: refused, error: "no thanks" }]) : undefined)
    })
    proxies.push(picky)
    const event = await eventually(async () => {
      const list = await kube.must("GET", "/apis/events.k8s.io/v1/namespaces/default/events")
      return list.items.find((e: any) => e.reason === "ProxyRejectedResource" && e.regarding.name === "mcp-gateway")
    }, "the ProxyRejectedResource Event")
    expect(event.type).toBe("Warning")
    expect(event.note).toContain(`${refused}: no thanks`)
  })

  it("relies on CRD validation to refuse invalid GatewayParameters, with a clear message", async () => {
    const invalid = await kube.call("POST", `${PARAMETERS}/namespaces/default/gatewayparameters`, {
      apiVersion: "gateway.kgateway.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "invalid" },
      spec: { selfManaged: {}, mcp: { prefixMode: "Sometimes" } }
    })
    expect(invalid.status).toBe(422)
    expect(invalid.body.message).toContain('spec.mcp.prefixMode: Unsupported value: "Sometimes"')
    const both = await kube.call("POST", `${PARAMETERS}/namespaces/default/gatewayparameters`, {
      apiVersion: "gateway.kgateway.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "both" },
      spec: { selfManaged: {}, kube: { agentgateway: { replicas: 2 } } }
    })
    expect(both.status).toBe(422)
    expect(both.body.message).toContain("selfManaged and kube are mutually exclusive")
  })
})
