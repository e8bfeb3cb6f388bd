// Pending → Programmed once a proxy holds every current version; refused
// resources turn the listener's ResolvedRefs False (the Warning state).
import { describe, expect, it } from "vitest"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import type { GatewayStatus } from "../../src/translate/status.ts"
import { translate } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/world/world.ts"
import type { ConnectedProxy } from "../../src/xds/dataPlane.ts"
import { withDataPlane } from "../../src/xds/programmedStatus.ts"
import { buildSnapshot, emptySnapshot, RESOURCE_TYPE_URL, resourcesOf } from "../../src/xds/snapshot.ts"
import { decoded, mcpGatewayClass } from "../support/decoded.ts"

const world = worldFromObjects(
  [
    mcpGatewayClass,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "ns", generation: 4 },
      spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
    },
    { apiVersion: "v1", kind: "Service", metadata: { name: "tools", namespace: "ns" }, spec: { ports: [{ port: 80, appProtocol: "kgateway.dev/mcp" }] } }
  ].map(decoded)
)
const translation = translate(world, defaultTranslateOptions)
const snapshot = buildSnapshot(translation, emptySnapshot)
const current = new Map([...resourcesOf(snapshot.gateways.get("ns/gw")!, RESOURCE_TYPE_URL).values()].map((r) => [r.name, r.version]))

const proxy = (confirmed: Map<string, string>, refused = new Map<string, Map<string, string>>()): ConnectedProxy => ({
  stream: "s1",
  nodeId: "n",
  gateway: "ns/gw",
  peer: "p",
  confirmed,
  refused,
  readyTypes: new Set()
})

const gatewayStatus = (proxies: ReadonlyArray<ConnectedProxy>) =>
  withDataPlane(translation.statuses, snapshot, proxies).find((s) => s.kind === "Gateway")!.status as GatewayStatus
const conditionOf = (conditions: GatewayStatus["conditions"], type: string) => conditions.find((c) => c.type === type)!

describe("withDataPlane", () => {
  it("keeps Pending without proxies, and while a proxy lags behind", () => {
    expect(conditionOf(gatewayStatus([]).conditions, "Programmed")).toMatchObject({ status: "False", reason: "Pending" })
    const lagging = new Map(current)
    lagging.set("bind/8080/ns/gw", "old")
    const status = gatewayStatus([proxy(lagging)])
    expect(conditionOf(status.conditions, "Programmed")).toMatchObject({ status: "False", reason: "Pending" })
    expect(conditionOf(status.conditions, "Programmed").message).toContain("1 proxy(ies) connected")
  })

  it("is Programmed (Ready) when a proxy acknowledged every current version", () => {
    const status = gatewayStatus([proxy(new Map(current))])
    expect(conditionOf(status.conditions, "Programmed")).toMatchObject({ status: "True", reason: "Programmed", observedGeneration: 4 })
    expect(conditionOf(status.listeners[0]!.conditions, "Programmed").status).toBe("True")
    expect(conditionOf(status.listeners[0]!.conditions, "ResolvedRefs").status).toBe("True")
  })

  it("names refused resources and turns the listener's ResolvedRefs False (Warning)", () => {
    const routeName = "route/ns/gw.mcp.mcp"
    const confirmed = new Map(current)
    confirmed.delete(routeName)
    const status = gatewayStatus([proxy(confirmed, new Map([[routeName, new Map([[current.get(routeName)!, "bad route"]])]]))])
    expect(conditionOf(status.conditions, "Programmed")).toMatchObject({ status: "True" })
    expect(conditionOf(status.conditions, "Programmed").message).toContain(`${routeName}: bad route`)
    expect(conditionOf(status.listeners[0]!.conditions, "ResolvedRefs")).toMatchObject({ status: "False", reason: "RejectedByProxy" })
  })

  it("ignores proxies of other gateways", () => {
    const other = { ...proxy(new Map(current)), gateway: "ns/other" }
    expect(conditionOf(gatewayStatus([other]).conditions, "Programmed").reason).toBe("Pending")
  })
})
