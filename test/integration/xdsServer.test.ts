// agentplane serving the examples from a directory, against real grpc-js
// clients that speak like agentgateway.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as grpc from "@grpc/grpc-js"
import { Effect, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AdminServer } from "../../src/admin/server.ts"
import { AggregatedDiscoveryServiceClient } from "../../src/gen/envoy/service/discovery/v3/ads.ts"
import { DeltaDiscoveryRequest, DiscoveryRequest } from "../../src/gen/envoy/service/discovery/v3/discovery.ts"
import { directoryInput } from "../../src/files/readManifests.ts"
import { serveLayer } from "../../src/main.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { ADDRESS_TYPE_URL, RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"
import { XdsServer } from "../../src/xds/server.ts"
import { TestProxy } from "../support/xdsClient.ts"

const EP_NAMES = [
  "backend/default/mcp-gateway.http.mcp",
  "backend/gwtest/mcp:8080",
  "backend/quickstart/alpha:3001",
  "backend/quickstart/beta:3002",
  "backend/tools/everything:3001",
  "backend/tools/weather:8000",
  "bind/8080/default/mcp-gateway",
  "listener/default/mcp-gateway.http",
  "route/default/mcp-gateway.http.mcp"
]

let dir: string
let runtime: ManagedRuntime.ManagedRuntime<XdsServer | AdminServer, unknown>
let xdsAddress: string
let adminUrl: string
let debugUrl: string
const proxies: Array<TestProxy> = []

const connect = (options: Omit<ConstructorParameters<typeof TestProxy>[0], "address">) => {
  const proxy = new TestProxy({ address: xdsAddress, ...options })
  proxies.push(proxy)
  return proxy
}

const sortedKeys = (map: ReadonlyMap<string, string>) => [...map.keys()].sort()

const rewrite = (file: string, edit: (text: string) => string) => {
  const path = join(dir, file)
  writeFileSync(path, edit(readFileSync(path, "utf8")))
}

const dump = async () => (await fetch(`${debugUrl}/debug/config_dump`)).json() as Promise<any>

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "agentplane-xds-"))
  cpSync("manifests/examples", dir, { recursive: true })
  runtime = ManagedRuntime.make(
    serveLayer({
      ...defaultTranslateOptions,
      inputs: [directoryInput(dir)],
      xdsAddress: "127.0.0.1:0",
      adminAddress: "127.0.0.1:0",
      debugAddress: "127.0.0.1:0"
    })
  )
  const ports = await runtime.runPromise(
    Effect.gen(function* () {
      const admin = yield* AdminServer
      return { xds: (yield* XdsServer).port, admin: admin.port, debug: admin.debugPort }
    })
  )
  xdsAddress = `127.0.0.1:${ports.xds}`
  adminUrl = `http://127.0.0.1:${ports.admin}`
  debugUrl = `http://127.0.0.1:${ports.debug}`
})

afterAll(async () => {
  for (const proxy of proxies) proxy.close()
  await runtime.dispose()
  rmSync(dir, { recursive: true, force: true })
})

describe("delta xDS server", () => {
  it("serves the gateway's resources, then only changes, removals, and after reconnect only what changed meanwhile", async () => {
    const proxy = connect({ gateway: "mcp-gateway", namespace: "default" })
    await proxy.until(() => sortedKeys(proxy.resourceHoldings()).join() === EP_NAMES.join(), "the example's resources")
    // Both subscriptions are answered, the Address one empty: the proxy is not ready otherwise.
    const addressResponses = proxy.responses.filter((r) => r.typeUrl === ADDRESS_TYPE_URL)
    expect(addressResponses).toHaveLength(1)
    expect(addressResponses[0]!.resources).toHaveLength(0)
    expect(proxy.responses.filter((r) => r.typeUrl === RESOURCE_TYPE_URL)).toHaveLength(1)

    // The ACK makes the Gateway Programmed.
    await expect
      .poll(async () => {
        const gateway = (await dump()).statuses.find((s: any) => s.kind === "Gateway" && s.name === "mcp-gateway")
        return gateway.status.conditions.find((c: any) => c.type === "Programmed").status
      })
      .toBe("True")

    // An edit that changes one target's path: only the MCP backend is sent again.
    const before = proxy.responses.length
    rewrite("multiplexing.yaml", (text) => text.replace("kgateway.dev/mcp-path: /v1/mcp", "kgateway.dev/mcp-path: /v2/mcp"))
    await proxy.until(() => proxy.responses.length > before, "the delta after an edit")
    const delta = proxy.responses[before]!
    expect(delta.typeUrl).toBe(RESOURCE_TYPE_URL)
    expect(delta.resources.map((r) => r.name)).toEqual(["backend/default/mcp-gateway.http.mcp"])
    expect(delta.removedResources).toEqual([])
    const backend = proxy.decoded.get("backend/default/mcp-gateway.http.mcp")!
    expect(JSON.stringify(backend)).toContain("/v2/mcp")

    // Deleting a Service removes its backend and its target.
    const beforeRemoval = proxy.responses.length
    rewrite("ep-11150.yaml", (text) => text.slice(0, text.lastIndexOf("---")))
    await proxy.until(() => proxy.responses.length > beforeRemoval, "the delta after deleting a Service")
    const removal = proxy.responses[beforeRemoval]!
    expect(removal.removedResources).toEqual(["backend/gwtest/mcp:8080"])
    expect(removal.resources.map((r) => r.name)).toEqual(["backend/default/mcp-gateway.http.mcp"])
    expect(proxy.resourceHoldings().has("backend/gwtest/mcp:8080")).toBe(false)

    // Disconnect, change something meanwhile, reconnect with what it holds.
    const held = Object.fromEntries(proxy.resourceHoldings())
    proxy.close()
    rewrite("multiplexing.yaml", (text) => text.replace("port: 3001", "port: 3002"))
    await expect
      .poll(async () => JSON.stringify((await dump()).gateways.find((g: any) => g.gateway === "default/mcp-gateway").resources))
      .toContain("everything:3002")
    const again = connect({ gateway: "mcp-gateway", namespace: "default", initialVersions: held })
    await again.until(() => again.responses.some((r) => r.typeUrl === RESOURCE_TYPE_URL), "the first response after reconnecting")
    const first = again.responses.find((r) => r.typeUrl === RESOURCE_TYPE_URL)!
    expect(first.resources.map((r) => r.name).sort()).toEqual(["backend/default/mcp-gateway.http.mcp", "backend/tools/everything:3002"])
    expect(first.removedResources).toEqual(["backend/tools/everything:3001"])
  })

  it("never sends a gateway's binds, listeners or routes to another gateway's proxy", async () => {
    const other = connect({ gateway: "tools-gateway", namespace: "tools" })
    await other.until(() => other.resourceHoldings().has("listener/tools/tools-gateway.mcp"), "the tools gateway's listener")
    const names = other.responses.flatMap((r) => r.resources.map((resource) => resource.name))
    expect(names.filter((name) => name.includes("mcp-gateway"))).toEqual([])
    expect(names.every((name) => !/^(bind|listener|route)\//.test(name) || name.includes("tools-gateway"))).toBe(true)
  })

  it("answers a proxy of an unknown gateway with empty responses for both types", async () => {
    const stranger = connect({ gateway: "nope", namespace: "default" })
    await stranger.until(() => stranger.responses.length === 2, "both empty responses")
    expect(stranger.responses.map((r) => [r.typeUrl, r.resources.length])).toEqual([
      [ADDRESS_TYPE_URL, 0],
      [RESOURCE_TYPE_URL, 0]
    ])
  })

  it("records a NACK, keeps the rest, and does not resend the refused bytes", async () => {
    const refused = "route/tools/tools-gateway.mcp.mcp"
    const picky = connect({
      gateway: "tools-gateway",
      namespace: "tools",
      judge: (response) =>
        response.resources.some((r) => r.name === refused)
          ? JSON.stringify([
              { key: refused, error: "unsupported field" },
              { key: "bind/9090/tools/tools-gateway", warn: "just saying" }
            ])
          : undefined
    })
    await picky.until(() => picky.resourceHoldings().has("listener/tools/tools-gateway.mcp"), "the tools gateway's resources")
    await expect
      .poll(async () => {
        const proxy = (await dump()).proxies.find((p: any) => p.gateway === "tools/tools-gateway" && p.refused.length > 0)
        return proxy?.refused.map((r: any) => r.name)
      })
      .toEqual([refused])
    const gateway = (await dump()).statuses.find((s: any) => s.kind === "Gateway" && s.name === "tools-gateway")
    expect(gateway.status.conditions.find((c: any) => c.type === "Programmed").message).toContain("unsupported field")
    expect(picky.resourceHoldings().has(refused)).toBe(false)
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text()
    expect(metrics).toMatch(/agentplane_xds_nacks_total\{gateway="tools\/tools-gateway",type_url="[^"]+"\} 1/)
    // An unrelated change reaches the proxy without the refused route riding along.
    const before = picky.responses.length
    rewrite("multiplexing.yaml", (text) => text.replace("/v2/mcp", "/v3/mcp"))
    await picky.until(() => picky.responses.length > before, "the next delta")
    expect(picky.responses.slice(before).flatMap((r) => r.resources.map((x) => x.name))).not.toContain(refused)
  })

  it("refuses a stream whose first request has no node, and the state-of-the-world RPC", async () => {
    const client = new AggregatedDiscoveryServiceClient(xdsAddress, grpc.credentials.createInsecure())
    try {
      const noNode = await new Promise<grpc.StatusObject>((resolve) => {
        const call = client.deltaAggregatedResources()
        call.on("status", resolve)
        call.on("error", () => {})
        call.on("data", () => {})
        call.write(DeltaDiscoveryRequest.fromPartial({ typeUrl: RESOURCE_TYPE_URL }))
      })
      expect(noNode.code).toBe(grpc.status.INVALID_ARGUMENT)
      expect(noNode.details).toContain("node")
      const sotw = await new Promise<grpc.StatusObject>((resolve) => {
        const call = client.streamAggregatedResources()
        call.on("status", resolve)
        call.on("error", () => {})
        call.on("data", () => {})
        call.write(DiscoveryRequest.fromPartial({ typeUrl: RESOURCE_TYPE_URL }))
      })
      expect(sotw.code).toBe(grpc.status.UNIMPLEMENTED)
    } finally {
      client.close()
    }
  })
})
