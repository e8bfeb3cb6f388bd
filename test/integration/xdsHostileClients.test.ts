// agentplane serving the examples while clients misbehave: megabyte node ids, megabyte NACKs,
// thousands of made-up type URLs, streams that never ask. agentplane runs as its own process (as
// users run it), so that its RSS and log volume can be measured, except where a test needs
// shorter stream timings than the defaults (then in this process, with them as options); each
// test also checks that a well-behaved proxy still gets its configuration within RESPONSIVE_MS
// while the abuse goes on.
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as grpc from "@grpc/grpc-js"
import { Effect, Layer, Logger, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AggregatedDiscoveryServiceClient } from "../../src/gen/envoy/service/discovery/v3/ads.ts"
import { DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from "../../src/gen/envoy/service/discovery/v3/discovery.ts"
import { directoryInput } from "../../src/files/readManifests.ts"
import { serveLayer } from "../../src/main.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { XdsServer } from "../../src/xds/server.ts"
import { RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"
import { proxyNode, TestProxy } from "../support/xdsClient.ts"
import { ANY_PORTS, listenerUrl } from "../support/serveProcess.ts"

/** How long a well-behaved proxy may wait for its configuration while others misbehave (it takes ~50 ms idle). */
const RESPONSIVE_MS = 5_000
const MB = 1024 * 1024

let child: ChildProcess
let stderr = ""
let stderrBytes = 0
let xdsAddress: string
let adminUrl: string
let debugUrl: string
const proxies: Array<TestProxy> = []

const connect = (options: Omit<ConstructorParameters<typeof TestProxy>[0], "address">) => {
  const proxy = new TestProxy({ address: xdsAddress, channelOptions: { "grpc.use_local_subchannel_pool": 1 }, ...options })
  proxies.push(proxy)
  return proxy
}

/** The server's resident set, from /proc. */
const rssBytes = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) * 1024

/** A proxy of the example gateway gets its binds within RESPONSIVE_MS; returns how long it took. */
const wellBehavedServed = async () => {
  const started = Date.now()
  const proxy = connect({ gateway: "mcp-gateway", namespace: "default" })
  await proxy.until(() => proxy.resourceHoldings().has("bind/8080/default/mcp-gateway"), "a well-behaved proxy's configuration", RESPONSIVE_MS)
  proxy.close()
  return Date.now() - started
}

/**
 * A stream that subscribes to the example gateway's resources like agentgateway and answers the
 * first response with `nack`'s error detail; resolves (with a way to close it) once the server
 * has had time to handle that.
 */
const nackOnce = (nack: (response: DeltaDiscoveryResponse) => string) =>
  new Promise<() => void>((resolve, reject) => {
    const client = new AggregatedDiscoveryServiceClient(xdsAddress, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 })
    const call = client.deltaAggregatedResources()
    const timer = setTimeout(() => reject(new Error("no response to subscribe to")), 30_000)
    call.on("error", () => {})
    call.on("data", (response: DeltaDiscoveryResponse) => {
      if (response.typeUrl !== RESOURCE_TYPE_URL) return
      clearTimeout(timer)
      call.write(
        DeltaDiscoveryRequest.fromPartial({
          typeUrl: response.typeUrl,
          responseNonce: response.nonce,
          errorDetail: { code: 0, message: nack(response) }
        })
      )
      setTimeout(
        () =>
          resolve(() => {
            call.end()
            call.cancel()
            client.close()
          }),
        500
      )
    })
    call.write(DeltaDiscoveryRequest.fromPartial({ node: proxyNode("mcp-gateway", "default"), typeUrl: RESOURCE_TYPE_URL }))
  })

const logBytesDuring = async <A>(body: () => Promise<A>): Promise<{ readonly result: A; readonly logBytes: number }> => {
  const before = stderrBytes
  const result = await body()
  // Let the lines of what just happened arrive.
  await new Promise((resolve) => setTimeout(resolve, 300))
  return { result, logBytes: stderrBytes - before }
}

beforeAll(async () => {
  child = spawn(process.execPath, ["--max-semi-space-size=4", "src/cli.ts", "serve", "--from", "manifests/examples", ...ANY_PORTS, "--log-format", "json"], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    stderrBytes += chunk.length
    // Keep the text only while it is small: the old server wrote tens of megabytes.
    if (stderr.length < 4 * MB) stderr += chunk.toString("utf8")
  })
  const deadline = Date.now() + 30_000
  while (!(/xDS server listening on [^ ]+:(\d+)/.test(stderr) && listenerUrl(stderr, "debug") !== undefined)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`agentplane did not start:\n${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  xdsAddress = `127.0.0.1:${/xDS server listening on [^ ]+:(\d+)/.exec(stderr)![1]}`
  adminUrl = listenerUrl(stderr, "admin")!
  debugUrl = listenerUrl(stderr, "debug")!
  await wellBehavedServed()
}, 60_000)

afterAll(async () => {
  for (const proxy of proxies) proxy.close()
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.on("exit", resolve))
    child.kill("SIGTERM")
    await exited
  }
})

describe("clients with megabyte node ids", () => {
  it("keeps and logs at most 256 characters of each node id, and stays responsive", async () => {
    // 30 streams of 10 MB ids: kept whole, as before, 20 of them grew RSS by 168 MB; what decoding a wave
    // costs for a moment comes and goes, and on a loaded machine reaches about 110 MB.
    const WAVES = 6
    const RSS_GROWTH_BOUND = 150 * MB
    const hugeId = "n".repeat(10 * MB)
    // One wave first, closed again: it makes the allocator reserve what decoding a wave needs, so
    // that the growth measured next is what the server keeps.
    const warmUp = Array.from({ length: 5 }, () => connect({ gateway: "mcp-gateway", namespace: "default", nodeId: hugeId }))
    for (const proxy of warmUp) await proxy.until(() => proxy.responses.length >= 2, "a huge-id proxy's configuration", 60_000)
    for (const proxy of proxies.splice(0)) proxy.close()
    await new Promise((resolve) => setTimeout(resolve, 500))
    const rssBefore = rssBytes()
    const { logBytes, result: waited } = await logBytesDuring(async () => {
      // In waves, all kept open: what is kept per stream adds up, what decoding costs for a moment does not.
      let waited = 0
      for (let wave = 0; wave < WAVES; wave++) {
        const abusive = Array.from({ length: 5 }, () => connect({ gateway: "mcp-gateway", namespace: "default", nodeId: hugeId }))
        waited = Math.max(waited, await wellBehavedServed())
        for (const proxy of abusive) await proxy.until(() => proxy.responses.length >= 2, "a huge-id proxy's configuration", 60_000)
      }
      return waited
    })
    const rssGrowth = rssBytes() - rssBefore
    const dump = await (await fetch(`${debugUrl}/debug/config_dump`)).text()
    const huge = (JSON.parse(dump).proxies as Array<{ nodeId: string }>).filter((p) => p.nodeId.startsWith("nnn"))
    console.log(
      `${WAVES * 5} streams with 10 MB node ids: RSS +${(rssGrowth / MB).toFixed(0)} MB, ${logBytes} log bytes, config_dump ${dump.length} bytes, well-behaved proxy served in ${waited} ms`
    )
    expect(huge).toHaveLength(WAVES * 5)
    for (const proxy of huge) expect(proxy.nodeId).toBe(`${"n".repeat(256)}…(truncated, ${10 * MB} bytes)`)
    expect(dump.length).toBeLessThan(1 * MB)
    expect(logBytes).toBeLessThan(256 * 1024)
    expect(rssGrowth).toBeLessThan(RSS_GROWTH_BOUND)
    for (const proxy of proxies.splice(0)) proxy.close()
  }, 120_000)

  it("refuses a huge node id that names no gateway in a short message, and a huge gateway name", async () => {
    const hugeId = "m".repeat(10 * MB)
    const { logBytes, result: statuses } = await logBytesDuring(async () => {
      const nameless = Array.from({ length: 5 }, () => connect({ gateway: "x", namespace: "y", nodeId: hugeId, metadata: {} }))
      const hugeName = connect({ gateway: "g".repeat(MB), namespace: "default" })
      return Promise.all([...nameless, hugeName].map((proxy) => proxy.closed(30_000)))
    })
    for (const status of statuses) {
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT)
      expect(status.details.length).toBeLessThan(1024)
    }
    expect(statuses[0]!.details).toContain(`…(truncated, ${10 * MB} bytes)" names no gateway`)
    expect(statuses[5]!.details).toContain(`is ${MB} characters long, more than the 253`)
    expect(logBytes).toBeLessThan(64 * 1024)
    for (const proxy of proxies.splice(0)) proxy.close()
  }, 120_000)
})

describe("clients with megabyte NACKs", () => {
  it("logs and keeps a bounded part of each NACK's text, and stays responsive", async () => {
    const huge = "z".repeat(5 * MB)
    const open: Array<() => void> = []
    const { logBytes, result: waited } = await logBytesDuring(async () => {
      const abuse = (async () => {
        // Three NACKs whose detail is not the JSON array (so it counts for every resource), three with a 1 MB error per resource.
        for (let i = 0; i < 3; i++) open.push(await nackOnce(() => huge))
        for (let i = 0; i < 3; i++) {
          open.push(await nackOnce((response) => JSON.stringify(response.resources.map((r) => ({ key: r.name, error: `${i}${"w".repeat(MB)}` })))))
        }
      })()
      const waited = await wellBehavedServed()
      await abuse
      return waited
    })
    // While the NACKing streams are open, what they refused is in config_dump and status.
    const dump = await (await fetch(`${debugUrl}/debug/config_dump`)).text()
    for (const close of open) close()
    console.log(`6 NACKs of 5-9 MB: ${logBytes} log bytes, config_dump ${dump.length} bytes, well-behaved proxy served in ${waited} ms`)
    const refused = (JSON.parse(dump).proxies as Array<{ refused: Array<unknown> }>).filter((p) => p.refused.length > 0)
    expect(refused).toHaveLength(6)
    expect(stderr).toContain(`proxy refused 9 resource(s)`)
    expect(stderr).toContain(`${"z".repeat(1024)}…(truncated, ${5 * MB} bytes)`)
    expect(logBytes).toBeLessThan(256 * 1024)
    expect(dump.length).toBeLessThan(1 * MB)
  }, 120_000)
})

describe("clients that subscribe to made-up type URLs", () => {
  it("answers 14 of 10,000 garbage types once, closes the stream, keeps them out of /metrics, and stays responsive", async () => {
    const rssBefore = rssBytes()
    const client = new AggregatedDiscoveryServiceClient(xdsAddress, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 })
    const call = client.deltaAggregatedResources()
    const responses: Array<DeltaDiscoveryResponse> = []
    call.on("data", (response: DeltaDiscoveryResponse) => responses.push(response))
    call.on("error", () => {})
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve))
    const started = Date.now()
    const node = proxyNode("mcp-gateway", "default")
    for (const typeUrl of ["type.googleapis.com/istio.workload.Address", RESOURCE_TYPE_URL]) call.write(DeltaDiscoveryRequest.fromPartial({ node, typeUrl }))
    for (let i = 0; i < 10_000; i++) call.write(DeltaDiscoveryRequest.fromPartial({ typeUrl: `type.googleapis.com/garbage.T${i}` }))
    const waited = await wellBehavedServed()
    const closed = await status
    const closedAfter = Date.now() - started
    client.close()
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text()
    const rssGrowth = rssBytes() - rssBefore
    console.log(
      `10,000 garbage types: stream closed after ${closedAfter} ms and ${responses.length} responses, RSS +${(rssGrowth / MB).toFixed(0)} MB, well-behaved proxy served in ${waited} ms`
    )
    expect(closed.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(closed.details).toContain("subscribed to more than 16 type URLs")
    expect(responses).toHaveLength(16)
    expect(responses.filter((r) => r.typeUrl.includes("garbage")).every((r) => r.resources.length === 0)).toBe(true)
    expect(metrics).not.toContain("garbage")
    expect(metrics).toMatch(/agentplane_xds_pushes_total\{trigger="subscribe",type_url="unknown"\} 14/)
    expect(metrics).toMatch(/agentplane_xds_refused_streams_total\{code="RESOURCE_EXHAUSTED"\} 1/)
    expect(closedAfter).toBeLessThan(RESPONSIVE_MS)
    expect(rssGrowth).toBeLessThan(100 * MB)
  }, 120_000)
})

describe("clients that open streams and never ask", () => {
  const TIMEOUT_MS = 1_000
  let runtime: ManagedRuntime.ManagedRuntime<XdsServer, unknown>
  let address: string
  const logs: Array<string> = []

  beforeAll(async () => {
    runtime = ManagedRuntime.make(
      serveLayer({
        ...defaultTranslateOptions,
        inputs: [directoryInput("manifests/examples")],
        xdsAddress: "127.0.0.1:0",
        adminAddress: "127.0.0.1:0",
        xdsStreamLimits: { firstRequestTimeoutMs: TIMEOUT_MS }
      }).pipe(Layer.provide(Logger.layer([Logger.make((options) => void logs.push(String(options.message)))])))
    )
    address = `127.0.0.1:${await runtime.runPromise(Effect.map(XdsServer, (server) => server.port))}`
  })
  afterAll(() => runtime?.dispose())

  it("closes 1,000 idle streams with DEADLINE_EXCEEDED after the first-request timeout, and serves the rest", async () => {
    const client = new AggregatedDiscoveryServiceClient(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 })
    const started = Date.now()
    const closed = Array.from(
      { length: 1_000 },
      () =>
        new Promise<{ readonly status: grpc.StatusObject; readonly after: number }>((resolve) => {
          const call = client.deltaAggregatedResources()
          call.on("error", () => {})
          call.on("data", () => {})
          call.on("status", (status) => resolve({ status, after: Date.now() - started }))
        })
    )
    // A proxy that asks at once keeps its stream past the timeout.
    const prompt = new TestProxy({ address, gateway: "mcp-gateway", namespace: "default", channelOptions: { "grpc.use_local_subchannel_pool": 1 } })
    try {
      await prompt.until(() => prompt.resourceHoldings().has("bind/8080/default/mcp-gateway"), "a prompt proxy's configuration", RESPONSIVE_MS)
      const statuses = await Promise.all(closed)
      const last = Math.max(...statuses.map((s) => s.after))
      console.log(`1,000 idle streams: all closed ${last} ms after opening (timeout ${TIMEOUT_MS} ms)`)
      for (const { after, status } of statuses) {
        expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED)
        expect(status.details).toBe("no request within 1 s of opening the stream; agentgateway subscribes at once")
        expect(after).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
      }
      // Generous: the timeout plus time to open and close a thousand streams on a shared machine.
      expect(last).toBeLessThan(TIMEOUT_MS + 10_000)
      expect(logs.filter((line) => line.includes("(DEADLINE_EXCEEDED): no request within 1 s"))).toHaveLength(1_000)
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS))
      expect(prompt.status).toBeUndefined()
    } finally {
      prompt.close()
      client.close()
    }
  }, 60_000)
})
