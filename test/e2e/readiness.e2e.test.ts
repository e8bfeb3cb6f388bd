// Readiness: a stock agentgateway started the way README.md says reports
// ready within a few seconds. It is ready only once both of its xDS
// subscriptions were answered, and never when it waits for a Workload about
// itself (POD_NAME set, LOCALITY not) — the trap the harness avoids the
// documented way.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { conditionOf, startAgentplane, type Agentplane, type ConfigDumpJson } from "./harness/agentplane.ts"
import { ManifestDir } from "./harness/manifests.ts"
import { freePort } from "./harness/ports.ts"
import { stopAllProcesses, useProcesses } from "./harness/processes.ts"
import { describeThroughProxies, startProxy, useStrictInterop, type RunningProxy } from "./harness/proxy.ts"
import { eventually, httpOk } from "./harness/readiness.ts"
import { useTestProxies } from "./harness/xds.ts"
import { ADDRESS_TYPE_URL, RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"

useProcesses()

const NS = "e2e"
const GATEWAY = "ready"
/** "A few seconds": the proxy needs one xDS round trip, not a timeout. */
const READY_WITHIN_MS = 5_000

let dir: ManifestDir
let agentplane: Agentplane

beforeAll(async () => {
  // No Services: readiness depends on xDS only, never on upstreams.
  dir = new ManifestDir()
    .writeGatewayClass()
    .writeGateway({ name: GATEWAY, namespace: NS, listeners: [{ name: "mcp", port: await freePort(), protocol: "kgateway.dev/mcp" }] })
  agentplane = await startAgentplane(dir.path)
})

afterAll(async () => {
  await stopAllProcesses()
  dir?.remove()
})

const connectTestProxy = useTestProxies(() => agentplane)

describe("readiness: control plane", () => {
  it("answers both subscriptions of a new proxy at once, the Address one empty (what the proxy's readiness waits for)", async () => {
    const started = Date.now()
    const proxy = connectTestProxy({ gateway: GATEWAY, namespace: NS })
    await proxy.until(() => new Set(proxy.responses.map((r) => r.typeUrl)).size === 2, "a response of each type", READY_WITHIN_MS)
    expect(Date.now() - started).toBeLessThan(READY_WITHIN_MS)
    expect(proxy.responses.find((r) => r.typeUrl === ADDRESS_TYPE_URL)!.resources).toEqual([])
    expect(proxy.responses.find((r) => r.typeUrl === RESOURCE_TYPE_URL)!.resources.length).toBeGreaterThan(0)
    // Leave the Gateway to the real proxy of the next half.
    proxy.close()
  })
})

describeThroughProxies("readiness", (release) => {
  let proxy: RunningProxy | undefined
  const strict = useStrictInterop({ proxy: () => proxy, agentplane: () => agentplane, gateway: `${NS}/${GATEWAY}` })

  beforeAll(async () => {
    proxy = await startProxy({ release, xdsPort: agentplane.xdsPort, gateway: GATEWAY, namespace: NS })
  }, 180_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  it(`reports ready within a few seconds of starting, and agentplane sees it acknowledge everything`, async () => {
    expect(proxy!.readyAfterMs).toBeLessThan(READY_WITHIN_MS)
    expect(await httpOk(proxy!.readyUrl)()).toBe(true)
    const gateway = { kind: "Gateway", namespace: NS, name: GATEWAY }
    const proxiesOf = (dump: ConfigDumpJson) => dump.proxies?.filter((p) => p.gateway === `${NS}/${GATEWAY}`) ?? []
    const dump = await eventually(agentplane.configDump, (d) => conditionOf(d, gateway, "Programmed")?.status === "True" && proxiesOf(d).length === 1, {
      what: "the Gateway to be Programmed by its one proxy"
    })
    const served = dump.gateways.find((g) => g.gateway === `${NS}/${GATEWAY}`)!.resources.length
    const [seen] = proxiesOf(dump)
    // The TestProxy above has gone: this is the real proxy, with agentgateway's node id shape.
    expect(seen!.nodeId).toMatch(/^agentgateway~/)
    expect({ acknowledged: seen!.acknowledged, refused: seen!.refused }).toEqual({ acknowledged: served, refused: [] })
  })

  strict.itHeldStrictly()
})
