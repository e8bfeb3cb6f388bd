// The admin endpoints on their two listeners: probes and metrics on the admin address, the
// config dump only on the debug address, written piece by piece; every request is answered,
// even when a handler breaks.
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configDump, configDumpText } from "../../src/admin/configDump.ts"
import { Metrics } from "../../src/telemetry/metrics.ts"
import { Readiness } from "../../src/telemetry/readiness.ts"
import { AdminServer } from "../../src/admin/server.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { translate } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/world/world.ts"
import { type ConnectedProxy, DataPlane } from "../../src/xds/dataPlane.ts"
import { buildSnapshot, emptySnapshot, RESOURCE_TYPE_URL, resourcesOf } from "../../src/xds/snapshot.ts"
import { SnapshotStore } from "../../src/xds/snapshotStore.ts"
import { decoded, mcpGatewayClass } from "../support/decoded.ts"

const world = worldFromObjects(
  [
    mcpGatewayClass,
    ...["a", "b"].map((name) => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name, namespace: "ns" },
      spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
    })),
    ...Array.from({ length: 30 }, (_, i) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `tools-${i}`, namespace: "ns", ...(i === 0 ? { annotations: { "kgateway.dev/mcp-path": "bad path" } } : {}) },
      spec: { ports: [{ name: "mcp", port: 80, appProtocol: "kgateway.dev/mcp" }] }
    }))
  ].map(decoded)
)
const translation = translate(world, defaultTranslateOptions)
const problems = [{ origin: "x.yaml", document: 0, kind: "Service", namespace: "ns", name: "broken", field: "spec", message: "is missing" }]

describe("configDumpText", () => {
  const snapshot = buildSnapshot(translation, emptySnapshot)
  const bind = [...resourcesOf(snapshot.gateways.get("ns/a")!, RESOURCE_TYPE_URL).values()][0]!
  const proxy: ConnectedProxy = {
    stream: "s",
    nodeId: "node",
    gateway: "ns/a",
    peer: "127.0.0.1",
    confirmed: new Map([[bind.name, bind.version]]),
    refused: new Map([["route/x", new Map([["v1", "no"]])]]),
    readyTypes: new Set()
  }
  const inputs = {
    full: { snapshot, statuses: translation.statuses, problems, proxies: [proxy] },
    "without proxies": { snapshot, statuses: translation.statuses, problems },
    empty: { snapshot: emptySnapshot, statuses: [], problems: [], proxies: [] }
  }
  for (const [name, input] of Object.entries(inputs)) {
    it(`is, piece by piece, the pretty JSON of configDump: ${name}`, () => {
      for (const gateway of [undefined, "ns/a", "ns/none"]) {
        const pieces = [...configDumpText(input, gateway)]
        expect(pieces.join("")).toBe(`${JSON.stringify(configDump(input, gateway), null, 2)}\n`)
        if (name === "full" && gateway === undefined) expect(pieces.length).toBeGreaterThan(40)
      }
    })
  }
})

const published = Layer.effectDiscard(
  Effect.gen(function* () {
    yield* (yield* SnapshotStore).publish(translation, problems, world)
    yield* (yield* Readiness).xdsListening
  })
)

const start = (dataPlane: Layer.Layer<DataPlane> = DataPlane.layer, debug = true) => {
  const debugAddress = debug ? "127.0.0.1:0" : undefined
  const core = Layer.mergeAll(SnapshotStore.layer, dataPlane, Metrics.layer, Readiness.layer)
  const runtime = ManagedRuntime.make(AdminServer.layer({ address: "127.0.0.1:0", debugAddress }).pipe(Layer.provideMerge(published), Layer.provideMerge(core)))
  return runtime
    .runPromise(
      Effect.gen(function* () {
        return yield* AdminServer
      })
    )
    .then((server) => ({
      runtime,
      admin: `http://127.0.0.1:${server.port}`,
      debug: server.debugPort === undefined ? undefined : `http://127.0.0.1:${server.debugPort}`
    }))
}

describe("admin server", () => {
  let servers: Awaited<ReturnType<typeof start>>
  beforeAll(async () => {
    servers = await start()
  })
  afterAll(() => servers.runtime.dispose())

  it("serves probes and metrics on the admin address, and no debug endpoint there", async () => {
    expect(await (await fetch(`${servers.admin}/healthz`)).text()).toBe("ok\n")
    expect((await fetch(`${servers.admin}/readyz`)).status).toBe(200)
    expect(await (await fetch(`${servers.admin}/metrics`)).text()).toContain("agentplane_gateways_programmed 2")
    const dump = await fetch(`${servers.admin}/debug/config_dump`)
    expect(dump.status).toBe(404)
    expect(await dump.text()).toMatch(/^not found: debug endpoints are served on the debug address \(--debug-address 127\.0\.0\.1:0\)/)
  })

  it("serves config_dump on the debug address only, as JSON, for all gateways or one", async () => {
    const all = await fetch(`${servers.debug}/debug/config_dump`)
    expect(all.headers.get("content-type")).toBe("application/json")
    const body = (await all.json()) as any
    expect(body.gateways.map((g: any) => g.gateway)).toEqual(["ns/a", "ns/b"])
    expect(body.problems).toHaveLength(1)
    const one = (await (await fetch(`${servers.debug}/debug/config_dump?gateway=ns/b`)).json()) as any
    expect(one.gateways.map((g: any) => g.gateway)).toEqual(["ns/b"])
    expect((await fetch(`${servers.debug}/healthz`)).status).toBe(404)
  })

  it("answers a request for a path that is not a URL path with 400, and keeps serving", async () => {
    const { request } = await import("node:http")
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(servers.admin)
      const req = request({ host: url.hostname, port: url.port, path: "//a:99999" }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end()
    })
    expect(status).toBe(400)
    expect((await fetch(`${servers.admin}/healthz`)).status).toBe(200)
  })

  it("serves no debug listener when none is asked for", async () => {
    const without = await start(DataPlane.layer, false)
    try {
      expect(without.debug).toBeUndefined()
      expect(await (await fetch(`${without.admin}/debug/config_dump`)).text()).toBe("not found: debug endpoints are not served\n")
    } finally {
      await without.runtime.dispose()
    }
  })

  it("turns a defect inside a handler into a 500, on both listeners, and keeps serving", async () => {
    const broken = Layer.effect(
      DataPlane,
      Effect.gen(function* () {
        const real = yield* DataPlane
        return DataPlane.of({ ...real, proxies: Effect.die(new Error("the data plane broke")) })
      })
    ).pipe(Layer.provide(DataPlane.layer))
    const failing = await start(broken)
    try {
      for (const url of [`${failing.admin}/metrics`, `${failing.debug}/debug/config_dump`]) {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
        expect(response.status, url).toBe(500)
        expect(await response.text()).toBe("internal error; agentplane's log has the details\n")
      }
      expect((await fetch(`${failing.admin}/healthz`)).status).toBe(200)
    } finally {
      await failing.runtime.dispose()
    }
  })
})
