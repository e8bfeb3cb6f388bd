// MCP end to end: two real MCP servers behind one Gateway, a third added and
// removed while everything runs. The control-plane half checks what a proxy
// of the Gateway receives over xDS; the proxy half, once per agentgateway
// release found, checks what an MCP client sees through the real proxy.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startAgentplane, type Agentplane } from "./harness/agentplane.ts"
import { ManifestDir, type ServiceSpec } from "./harness/manifests.ts"
import { callText, toolNames, withMcpClient, type McpTransport } from "./harness/mcpClient.ts"
import { startEverything, startOwnMcpServer, type Peer } from "./harness/peers.ts"
import { freePort } from "./harness/ports.ts"
import { stopAllProcesses, useProcesses } from "./harness/processes.ts"
import { describeThroughProxies, startProxy, useStrictInterop, type RunningProxy } from "./harness/proxy.ts"
import { eventually } from "./harness/readiness.ts"
import { heldJson, heldNames, useTestProxies } from "./harness/xds.ts"
import { ADDRESS_TYPE_URL } from "../../src/xds/snapshot.ts"

useProcesses()

const NS = "e2e"
const GATEWAY = "tools"
const LISTENER = "mcp"

let dir: ManifestDir
let agentplane: Agentplane
let everything: Peer
let own: Peer
let everythingSse: Peer
let listenerPort: number

const everythingService = (): ServiceSpec => ({
  name: "everything",
  namespace: NS,
  ports: [{ name: "mcp", port: everything.port, appProtocol: "kgateway.dev/mcp" }]
})
const ownService = (): ServiceSpec => ({ name: "own", namespace: NS, ports: [{ name: "mcp", port: own.port, appProtocol: "kgateway.dev/mcp" }] })
const sseService = (): ServiceSpec => ({
  name: "everything-sse",
  namespace: NS,
  ports: [{ name: "mcp", port: everythingSse.port, appProtocol: "kgateway.dev/mcp-sse" }]
})

/** The names README.md documents: `<kind>/<key>`, static backends `backend/<ns>/<svc>:<port>`. */
const names = {
  bind: () => `bind/${listenerPort}/${NS}/${GATEWAY}`,
  listener: `listener/${NS}/${GATEWAY}.${LISTENER}`,
  route: `route/${NS}/${GATEWAY}.${LISTENER}.mcp`,
  mcpBackend: `backend/${NS}/${GATEWAY}.${LISTENER}.mcp`,
  static: (service: string, peer: Peer) => `backend/${NS}/${service}:${peer.port}`
}

const target = (service: string, peer: Peer, protocol: "STREAMABLE_HTTP" | "SSE") => ({
  name: `${service}.${NS}`,
  backend: { backend: `${NS}/${service}:${peer.port}` },
  path: protocol === "SSE" ? "/sse" : "/mcp",
  protocol
})

const staticBackend = (service: string, peer: Peer) => ({
  backend: { key: `${NS}/${service}:${peer.port}`, name: { name: service, namespace: NS }, static: { host: "localhost", port: peer.port } }
})

beforeAll(async () => {
  ;[everything, own, everythingSse] = await Promise.all([startEverything("streamableHttp"), startOwnMcpServer("own"), startEverything("sse")])
  listenerPort = await freePort()
  dir = new ManifestDir()
    .writeGatewayClass()
    .writeGateway({ name: GATEWAY, namespace: NS, listeners: [{ name: LISTENER, port: listenerPort, protocol: "kgateway.dev/mcp" }] })
    .writeService(everythingService())
    .writeService(ownService())
  agentplane = await startAgentplane(dir.path)
})

afterAll(async () => {
  await stopAllProcesses()
  dir?.remove()
})

const connectTestProxy = useTestProxies(() => agentplane)

describe("MCP: control plane", () => {
  it("the upstream peers are real MCP servers that answer when called directly", async () => {
    await withMcpClient(everything.url, "streamable", async (client) => {
      expect(await toolNames(client)).toContain("echo")
      expect(await callText(client, "echo", { message: "direct" })).toBe("Echo: direct")
    })
    await withMcpClient(own.url, "streamable", async (client) => {
      expect(await toolNames(client)).toEqual(["add", "header", "whoami"])
      expect(await callText(client, "whoami")).toBe("own")
      expect(await callText(client, "add", { a: 2, b: 3 })).toBe("5")
    })
    await withMcpClient(everythingSse.url, "sse", async (client) => {
      expect(await callText(client, "echo", { message: "direct sse" })).toBe("Echo: direct sse")
    })
  })

  it("a proxy of the Gateway receives exactly its bind, listener, route, MCP backend and one static backend per Service", async () => {
    const proxy = connectTestProxy({ gateway: GATEWAY, namespace: NS })
    const expected = [names.bind(), names.listener, names.route, names.mcpBackend, names.static("everything", everything), names.static("own", own)].sort()
    await proxy.until(() => heldNames(proxy).join() === expected.join(), `exactly ${expected.join(", ")}`)
    // Both subscriptions answered (the Address one empty): the proxy is not ready otherwise.
    expect(proxy.responses.filter((r) => r.typeUrl === ADDRESS_TYPE_URL).map((r) => r.resources.length)).toEqual([0])

    expect(heldJson(proxy, names.bind())).toEqual({ bind: { key: `${listenerPort}/${NS}/${GATEWAY}`, port: listenerPort } })
    expect(heldJson(proxy, names.listener)).toEqual({
      listener: {
        key: `${NS}/${GATEWAY}.${LISTENER}`,
        bindKey: `${listenerPort}/${NS}/${GATEWAY}`,
        name: { gatewayName: GATEWAY, gatewayNamespace: NS, listenerName: LISTENER },
        protocol: "HTTP"
      }
    })
    expect(heldJson(proxy, names.route)).toMatchObject({
      route: {
        key: `${NS}/${GATEWAY}.${LISTENER}.mcp`,
        listenerKey: `${NS}/${GATEWAY}.${LISTENER}`,
        matches: [{ path: { pathPrefix: "/" } }],
        backends: [{ backend: { backend: `${NS}/${GATEWAY}.${LISTENER}.mcp` }, weight: 1 }]
      }
    })
    expect(heldJson(proxy, names.mcpBackend)).toEqual({
      backend: {
        key: `${NS}/${GATEWAY}.${LISTENER}.mcp`,
        name: { name: `${GATEWAY}.${LISTENER}`, namespace: NS },
        mcp: {
          targets: [target("everything", everything, "STREAMABLE_HTTP"), target("own", own, "STREAMABLE_HTTP")],
          prefixMode: "ALWAYS",
          failureMode: "FAIL_OPEN"
        }
      }
    })
    expect(heldJson(proxy, names.static("everything", everything))).toEqual(staticBackend("everything", everything))
    expect(heldJson(proxy, names.static("own", own))).toEqual(staticBackend("own", own))
  })

  it("a third MCP Service arrives as one more target in a delta, and its removal as a removal, without renaming the others", async () => {
    const proxy = connectTestProxy({ gateway: GATEWAY, namespace: NS })
    const sseStatic = names.static("everything-sse", everythingSse)
    await proxy.until(() => heldNames(proxy).length === 6, "the initial resources")
    const initialTargets = heldJson(proxy, names.mcpBackend).backend.mcp.targets

    const beforeAdd = proxy.responses.length
    dir.writeService(sseService())
    await proxy.until(() => proxy.resourceHoldings().has(sseStatic), "the SSE server's backend")
    const added = proxy.responses.slice(beforeAdd)
    expect(added.flatMap((r) => r.resources.map((x) => x.name)).sort()).toEqual([names.mcpBackend, sseStatic].sort())
    expect(added.flatMap((r) => r.removedResources)).toEqual([])
    const targets = heldJson(proxy, names.mcpBackend).backend.mcp.targets
    // Sorted by name ("-" sorts before "."): the order is deterministic, not insertion order.
    expect(targets).toEqual([
      target("everything-sse", everythingSse, "SSE"),
      target("everything", everything, "STREAMABLE_HTTP"),
      target("own", own, "STREAMABLE_HTTP")
    ])
    // The targets that were there are unchanged: their tools keep their names.
    expect(targets.filter((t: { name: string }) => t.name !== `everything-sse.${NS}`)).toEqual(initialTargets)
    expect(heldJson(proxy, sseStatic)).toEqual(staticBackend("everything-sse", everythingSse))

    const beforeRemove = proxy.responses.length
    dir.removeService(sseService())
    await proxy.until(() => !proxy.resourceHoldings().has(sseStatic), "the SSE server's backend to go")
    const removed = proxy.responses.slice(beforeRemove)
    expect(removed.flatMap((r) => r.removedResources)).toEqual([sseStatic])
    expect(removed.flatMap((r) => r.resources.map((x) => x.name))).toEqual([names.mcpBackend])
    expect(heldJson(proxy, names.mcpBackend).backend.mcp.targets).toEqual(initialTargets)
  })
})

describeThroughProxies("MCP", (release) => {
  let proxy: RunningProxy | undefined
  const strict = useStrictInterop({ proxy: () => proxy, agentplane: () => agentplane, gateway: `${NS}/${GATEWAY}` })
  const gateway = (path: string) => `http://127.0.0.1:${listenerPort}${path}`
  const transports: ReadonlyArray<readonly [McpTransport, string]> = [
    ["streamable", "/mcp"],
    ["sse", "/sse"]
  ]
  const everythingTools = new Set<string>()

  beforeAll(async () => {
    await withMcpClient(everything.url, "streamable", async (client) => {
      for (const name of await toolNames(client)) everythingTools.add(name)
    })
    proxy = await startProxy({ release, xdsPort: agentplane.xdsPort, gateway: GATEWAY, namespace: NS })
  }, 180_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  const listing = (transport: McpTransport, path: string) => withMcpClient(gateway(path), transport, toolNames)

  it(`MCP clients on /mcp and /sse see both servers' tools under their target prefixes and call them`, async () => {
    for (const [transport, path] of transports) {
      const tools = await eventually(
        () => listing(transport, path),
        (t) => t.includes(`own.${NS}_whoami`) && t.includes(`everything.${NS}_echo`),
        {
          what: `both servers' tools over ${transport} ${path}`
        }
      )
      expect(tools.filter((t) => t.startsWith(`own.${NS}_`))).toEqual([`own.${NS}_add`, `own.${NS}_header`, `own.${NS}_whoami`])
      const fromEverything = tools.filter((t) => t.startsWith(`everything.${NS}_`))
      expect(
        fromEverything.every((t) => everythingTools.has(t.slice(`everything.${NS}_`.length))),
        fromEverything.join()
      ).toBe(true)
      expect(tools.filter((t) => !t.startsWith(`own.${NS}_`) && !t.startsWith(`everything.${NS}_`))).toEqual([])
      await withMcpClient(gateway(path), transport, async (client) => {
        expect(await callText(client, `own.${NS}_whoami`)).toBe("own")
        expect(await callText(client, `own.${NS}_add`, { a: 20, b: 22 })).toBe("42")
        expect(await callText(client, `everything.${NS}_echo`, { message: `via ${path}` })).toBe(`Echo: via ${path}`)
      })
    }
  })

  it(`a third Service's tools appear without a restart and go when it is removed; other tool names never change`, async () => {
    const pid = proxy!.process.pid
    const before = await listing("streamable", "/mcp")
    dir.writeService(sseService())
    const withThird = await eventually(
      () => listing("streamable", "/mcp"),
      (t) => t.includes(`everything-sse.${NS}_echo`),
      {
        what: "the SSE server's tools"
      }
    )
    expect(withThird).toEqual(expect.arrayContaining(before))
    expect(withThird.filter((t) => !before.includes(t)).every((t) => t.startsWith(`everything-sse.${NS}_`))).toBe(true)
    await withMcpClient(gateway("/sse"), "sse", async (client) => {
      expect(await toolNames(client)).toEqual(withThird)
      expect(await callText(client, `everything-sse.${NS}_echo`, { message: "third" })).toBe("Echo: third")
    })

    dir.removeService(sseService())
    const after = await eventually(
      () => listing("streamable", "/mcp"),
      (t) => !t.some((name) => name.startsWith(`everything-sse.${NS}_`)),
      {
        what: "the SSE server's tools to go"
      }
    )
    expect(after).toEqual(before)
    expect(proxy!.process.pid).toBe(pid)
    expect(proxy!.process.exit).toBeUndefined()
  })

  strict.itHeldStrictly()
})
