// Status against the real API server: a message about 1,000 Services is summarised below the
// 32,768-character limit the Gateway API CRDs enforce; a status the API server refuses anyway
// becomes a Warning Event on the object instead of a log line nobody reads; and a Gateway whose
// newest version agentplane cannot read is Accepted=False in the cluster as in config_dump.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { condition, eventually, installOurCrds, type Kube, kubeClient } from "../support/kube.ts"
import { type KubeAgentplane, startKubeAgentplane, tearDown } from "../support/kubeAgentplane.ts"

const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"

let cluster: Cluster
let kube: Kube
let agentplane: KubeAgentplane | undefined

const gateway = (namespace: string, name: string, gatewayClassName: string) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name, namespace },
  spec: { gatewayClassName, listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
})

beforeAll(async () => {
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await installOurCrds(kube)
  for (const name of ["crowd", "limits"]) await kube.must("POST", "/api/v1/namespaces", { metadata: { name } })
  await kube.must("POST", `${GATEWAYS}/gatewayclasses`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "mcp" },
    spec: { controllerName: "kgateway.dev/kgateway" }
  })
  agentplane = await startKubeAgentplane(cluster, { identity: "limits" })
}, 45 * 60_000)

afterAll(() => tearDown([], agentplane, cluster), 60_000)

describe("status the API server accepts", () => {
  it("summarises 1,000 Services with a bad mcp-path in one ResolvedRefs message the API server stores", async () => {
    const names = Array.from({ length: 1000 }, (_, i) => `weather-service-with-a-long-name-${String(i).padStart(4, "0")}`)
    // Headless, so that 1,000 of them need no cluster IPs.
    const create = (name: string) =>
      kube.must("POST", "/api/v1/namespaces/crowd/services", {
        metadata: { name, annotations: { "kgateway.dev/mcp-path": "no slash" } },
        spec: { clusterIP: "None", ports: [{ name: "mcp", port: 80, appProtocol: "kgateway.dev/mcp" }] }
      })
    for (let i = 0; i < names.length; i += 25) await Promise.all(names.slice(i, i + 25).map(create))
    await kube.must("POST", `${GATEWAYS}/namespaces/crowd/gateways`, gateway("crowd", "crowded", "mcp"))

    const resolved = await eventually(
      async () => {
        const read = await kube.must("GET", `${GATEWAYS}/namespaces/crowd/gateways/crowded`)
        const found = read.status?.listeners?.[0]?.conditions?.find((c: { type: string }) => c.type === "ResolvedRefs")
        return found?.status === "False" ? found : undefined
      },
      "the Gateway's ResolvedRefs=False",
      30_000
    )
    expect(resolved.reason).toBe("InvalidServices")
    expect(resolved.message).toMatch(
      /^1000 Services have metadata\.annotations\["kgateway\.dev\/mcp-path"\] "no slash" is not a URL path; .*: crowd\/weather-service-with-a-long-name-0000, .* and 995 more$/
    )
    expect(resolved.message.length).toBeLessThan(32_768)
  }, 120_000)

  it("records a StatusWriteFailed Event when the API server refuses the status", async () => {
    // Another controller's 7 conditions leave no room for agentplane's 2: the CRD allows 8.
    await kube.must("POST", `${GATEWAYS}/namespaces/limits/gateways`, gateway("limits", "full", "someone-elses"))
    const foreign = Array.from({ length: 7 }, (_, i) => ({
      type: `example.com/Check${i}`,
      status: "True",
      reason: "Checked",
      message: "checked",
      lastTransitionTime: "2026-01-01T00:00:00Z"
    }))
    await kube.must("PATCH", `${GATEWAYS}/namespaces/limits/gateways/full/status`, { status: { conditions: foreign } }, "application/merge-patch+json")
    await kube.must("PATCH", `${GATEWAYS}/namespaces/limits/gateways/full`, { spec: { gatewayClassName: "mcp" } }, "application/merge-patch+json")

    const event = await eventually(
      async () => {
        const list = await kube.must("GET", "/apis/events.k8s.io/v1/namespaces/limits/events")
        return list.items.find((e: any) => e.reason === "StatusWriteFailed" && e.regarding.name === "full")
      },
      "the StatusWriteFailed Event",
      30_000
    )
    expect(event).toMatchObject({
      type: "Warning",
      action: "WriteStatus",
      regarding: { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", namespace: "limits", name: "full" }
    })
    expect(event.note).toMatch(/^the API server refused agentplane's status for this Gateway, so the status shown is stale: .*conditions/)
    expect(event.note.length).toBeLessThanOrEqual(1024)
    // The status was indeed not written: only the other controller's conditions are there.
    const live = await kube.must("GET", `${GATEWAYS}/namespaces/limits/gateways/full`)
    expect(condition(live, "Accepted")).toBeUndefined()
  }, 60_000)
})

describe("a Gateway agentplane cannot read", () => {
  it("is Accepted=False, naming the field, in its written status and in config_dump, while its last good version serves", async () => {
    const path = `${GATEWAYS}/namespaces/limits/gateways/drifting`
    await kube.must("POST", `${GATEWAYS}/namespaces/limits/gateways`, gateway("limits", "drifting", "mcp"))
    await eventually(async () => (condition(await kube.must("GET", path), "Accepted")?.status === "True" ? true : undefined), "Accepted=True")
    // The CRD lets this through; agentplane's decoding does not (a Selector needs a selector).
    await kube.must(
      "PATCH",
      path,
      {
        spec: { listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp", allowedRoutes: { namespaces: { from: "Selector" } } }] }
      },
      "application/merge-patch+json"
    )
    const accepted = await eventually(
      async () => {
        const found = condition(await kube.must("GET", path), "Accepted")
        return found?.status === "False" ? found : undefined
      },
      "Accepted=False in the cluster",
      30_000
    )
    expect(accepted.reason).toBe("Invalid")
    expect(accepted.message).toContain("spec.listeners[0].allowedRoutes.namespaces from: Selector needs a selector")
    expect(accepted.message).toContain("its last good version is still used")

    const dump = (await (await fetch(`${agentplane!.debugUrl}/debug/config_dump?gateway=limits/drifting`)).json()) as any
    const entries = dump.statuses.filter((s: any) => s.kind === "Gateway" && s.name === "drifting")
    expect(entries).toHaveLength(1)
    const dumped = entries[0].status.conditions.find((c: any) => c.type === "Accepted")
    expect({ status: dumped.status, reason: dumped.reason, message: dumped.message }).toEqual({
      status: accepted.status,
      reason: accepted.reason,
      message: accepted.message
    })
    // The last good version is still served.
    expect(dump.gateways.map((g: any) => g.gateway)).toEqual(["limits/drifting"])
  }, 60_000)
})
