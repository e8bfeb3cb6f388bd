// NACKs end to end. Control-plane half: a proxy that refuses one resource is
// seen in every place README.md promises (config_dump, the Gateway's status,
// /metrics) while the rest stays acknowledged. Proxy half: no input was found
// that agentplane accepts and a real agentgateway refuses (agentplane
// validates what the proxy would reject: target names, paths, names), so the
// proxy half checks the other side of the contract — a real agentgateway
// refuses nothing agentplane sends for a Gateway full of edge cases.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { conditionOf, startAgentplane, type Agentplane, type ConfigDumpJson } from "./harness/agentplane.ts"
import { ManifestDir, type GatewaySpec, type ServiceSpec } from "./harness/manifests.ts"
import { callText, withMcpClient } from "./harness/mcpClient.ts"
import { startOwnMcpServer, type Peer } from "./harness/peers.ts"
import { freePorts } from "./harness/ports.ts"
import { stopAllProcesses, useProcesses } from "./harness/processes.ts"
import { describeThroughProxies, startProxy, useStrictInterop, type RunningProxy } from "./harness/proxy.ts"
import { eventually } from "./harness/readiness.ts"
import { heldJson, heldNames, useTestProxies } from "./harness/xds.ts"
import { RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"

useProcesses()

const NS = "e2e"
/** The Gateway whose proxy refuses a resource (control-plane half). */
const PICKY = "picky"
/** The Gateway of edge cases a real proxy must accept (proxy half). */
const EDGE = "edge"

let dir: ManifestDir
let agentplane: Agentplane
let own: Peer
let ports: Array<number>

const ownService = (): ServiceSpec => ({ name: "own", namespace: NS, ports: [{ name: "mcp", port: own.port, appProtocol: "kgateway.dev/mcp" }] })
const refusedName = () => `backend/${NS}/own:${own.port}`

const port = (index: number): number => ports[index]!
const pickyGateway = (): GatewaySpec => ({ name: PICKY, namespace: NS, listeners: [{ name: "mcp", port: port(0), protocol: "kgateway.dev/mcp" }] })
const edgeGateway = (): GatewaySpec => ({
  name: EDGE,
  namespace: "edge",
  listeners: [
    { name: "tools", port: port(1), protocol: "kgateway.dev/mcp" },
    { name: "agents", port: port(2), protocol: "kgateway.dev/a2a" }
  ]
})
/** Every shape of Service agentplane translates differently; nothing needs to listen behind them to be configured. */
const edgeServices = (): Array<ServiceSpec> => [
  // Several MCP ports: target names `<svc>.<port name>.<ns>`.
  {
    name: "multi",
    namespace: "edge",
    ports: [
      { name: "primary", port: port(3), appProtocol: "kgateway.dev/mcp" },
      { name: "secondary", port: port(4), appProtocol: "kgateway.dev/mcp" }
    ]
  },
  // SSE with a custom path, reached by IP rather than DNS name.
  {
    name: "legacy",
    namespace: "edge",
    annotations: { "kgateway.dev/mcp-path": "/v1/events" },
    externalName: "127.0.0.1",
    ports: [{ port: port(5), appProtocol: "kgateway.dev/mcp-sse" }]
  },
  // An agent under a base path, with two A2A ports: routes `/<ns>/<svc>/<port name>`.
  {
    name: "agent",
    namespace: "edge",
    annotations: { "kgateway.dev/a2a-path": "/base" },
    ports: [
      { name: "v1", port: port(6), appProtocol: "kgateway.dev/a2a" },
      { name: "v2", port: port(7), appProtocol: "kgateway.dev/a2a" }
    ]
  },
  // One MCP and one A2A port on the same Service: one of each, no port in the names.
  {
    name: "dual",
    namespace: "edge",
    ports: [
      { name: "mcp", port: port(8), appProtocol: "kgateway.dev/mcp" },
      { name: "a2a", port: port(9), appProtocol: "kgateway.dev/a2a" }
    ]
  }
]

const metricValue = (metrics: string, name: string, labels: string): number => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name}{${labels}}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1))
}
const nackLabels = (gateway: string) => `gateway="${gateway}",type_url="${RESOURCE_TYPE_URL}"`

beforeAll(async () => {
  own = await startOwnMcpServer("own")
  ports = await freePorts(10)
  dir = new ManifestDir().writeGatewayClass().writeGateway(pickyGateway()).writeService(ownService()).writeGateway(edgeGateway())
  for (const service of edgeServices()) dir.writeService(service)
  agentplane = await startAgentplane(dir.path)
})

afterAll(async () => {
  await stopAllProcesses()
  dir?.remove()
})

const connectTestProxy = useTestProxies(() => agentplane)

describe("NACK: control plane", () => {
  it("the upstream peer answers directly", async () => {
    await withMcpClient(own.url, "streamable", async (client) => {
      expect(await callText(client, "whoami")).toBe("own")
    })
  })

  it("a refused resource shows in config_dump, the Gateway's Programmed message and the NACK metric; the others stay acknowledged", async () => {
    const refused = refusedName()
    const proxy = connectTestProxy({
      gateway: PICKY,
      namespace: NS,
      judge: (response) =>
        response.resources.some((r) => r.name === refused) ? JSON.stringify([{ key: refused, error: "e2e: refused on purpose" }]) : undefined
    })
    const served = [
      `bind/${port(0)}/${NS}/${PICKY}`,
      `listener/${NS}/${PICKY}.mcp`,
      `route/${NS}/${PICKY}.mcp.mcp`,
      `backend/${NS}/${PICKY}.mcp.mcp`,
      refused
    ].sort()
    await proxy.until(() => proxy.responses.some((r) => r.resources.some((x) => x.name === refused)), "the resource to refuse")

    const proxiesOf = (dump: ConfigDumpJson) => dump.proxies?.filter((p) => p.gateway === `${NS}/${PICKY}`) ?? []
    const dump = await eventually(agentplane.configDump, (d) => proxiesOf(d).some((p) => p.refused.length > 0), {
      what: "config_dump to list the refused resource"
    })
    const [entry] = proxiesOf(dump)
    expect(entry!.refused).toEqual([{ name: refused, version: expect.any(String), message: expect.stringContaining("e2e: refused on purpose") }])
    // Partial acceptance: everything else is acknowledged, and held.
    expect(entry!.acknowledged).toBe(served.length - 1)
    expect(heldNames(proxy)).toEqual(served.filter((name) => name !== refused))

    const programmed = conditionOf(dump, { kind: "Gateway", namespace: NS, name: PICKY }, "Programmed")
    expect(programmed?.message).toContain(refused)

    const metrics = await agentplane.metrics()
    expect(metricValue(metrics, "agentplane_xds_nacks_total", nackLabels(`${NS}/${PICKY}`))).toBe(1)
    expect(metricValue(metrics, "agentplane_refused_resources", `gateway="${NS}/${PICKY}"`)).toBe(1)
    proxy.close()
  })

  it("agentplane accepts every edge-case Service, with no problems, and names their targets and routes from the Service alone", async () => {
    const dump = await agentplane.configDump()
    expect(dump.problems).toEqual([])
    const proxy = connectTestProxy({ gateway: EDGE, namespace: "edge" })
    const mcpBackend = "backend/edge/edge.tools.mcp"
    await proxy.until(() => proxy.resourceHoldings().has(mcpBackend), "the edge Gateway's MCP backend")
    expect(heldJson(proxy, mcpBackend).backend.mcp.targets.map((t: { name: string; path: string }) => [t.name, t.path])).toEqual([
      ["dual.edge", "/mcp"],
      ["legacy.edge", "/v1/events"],
      ["multi.primary.edge", "/mcp"],
      ["multi.secondary.edge", "/mcp"]
    ])
    const prefixes = heldNames(proxy)
      .filter((n) => n.startsWith("route/edge/edge.agents."))
      .map((n) => heldJson(proxy, n).route.matches[0].path.pathPrefix)
      .sort()
    expect(prefixes).toEqual(["/edge/agent/v1", "/edge/agent/v2", "/edge/dual"])
    proxy.close()
  })
})

describeThroughProxies("NACK", (release) => {
  let proxy: RunningProxy | undefined
  const strict = useStrictInterop({ proxy: () => proxy, agentplane: () => agentplane, gateway: `edge/${EDGE}` })
  beforeAll(async () => {
    proxy = await startProxy({ release, xdsPort: agentplane.xdsPort, gateway: EDGE, namespace: "edge" })
  }, 180_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  it(`a real agentgateway refuses nothing agentplane sends for the edge-case Gateway`, async () => {
    const proxiesOf = (dump: ConfigDumpJson) => dump.proxies?.filter((p) => p.gateway === `edge/${EDGE}`) ?? []
    const gateway = { kind: "Gateway", namespace: "edge", name: EDGE }
    const dump = await eventually(agentplane.configDump, (d) => proxiesOf(d).length === 1 && conditionOf(d, gateway, "Programmed")?.status === "True", {
      what: "the edge Gateway to be Programmed by the real proxy"
    })
    const served = dump.gateways.find((g) => g.gateway === `edge/${EDGE}`)!.resources.length
    expect(proxiesOf(dump).map((p) => ({ acknowledged: p.acknowledged, refused: p.refused }))).toEqual([{ acknowledged: served, refused: [] }])
  })

  // No NACK counted, no warning logged by either side: the check every proxy half ends with.

  strict.itHeldStrictly()
})
