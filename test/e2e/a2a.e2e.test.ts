// A2A end to end: a real A2A agent behind a Gateway's kgateway.dev/a2a
// listener. The control-plane half checks the route a proxy receives; the
// proxy half, once per agentgateway release found, fetches the agent card
// through the real proxy and talks to the agent through it.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fetchAgentCard, sendWithCardUrl, sendWithLegacyCard } from "./harness/a2aClient.ts"
import { startAgentplane, type Agentplane } from "./harness/agentplane.ts"
import { ManifestDir } from "./harness/manifests.ts"
import { startSampleAgent, type Peer } from "./harness/peers.ts"
import { freePort } from "./harness/ports.ts"
import { stopAllProcesses, useProcesses } from "./harness/processes.ts"
import { describeThroughProxies, itWhereReleaseHas, startProxy, useStrictInterop, type RunningProxy } from "./harness/proxy.ts"
import { eventually } from "./harness/readiness.ts"
import { heldJson, heldNames, useTestProxies } from "./harness/xds.ts"

useProcesses()

const NS = "e2e"
const GATEWAY = "agents"
const LISTENER = "a2a"
const SERVICE = "echo-agent"
/** Where the gateway serves the agent: `/<namespace>/<service>`. */
const PREFIX = `/${NS}/${SERVICE}`
const CARD_PATH = "/.well-known/agent-card.json"

let dir: ManifestDir
let agentplane: Agentplane
let agent: Peer
let listenerPort: number

const names = {
  bind: () => `bind/${listenerPort}/${NS}/${GATEWAY}`,
  listener: `listener/${NS}/${GATEWAY}.${LISTENER}`,
  route: () => `route/${NS}/${GATEWAY}.${LISTENER}.a2a/${NS}/${SERVICE}:${agent.port}`,
  backend: () => `backend/${NS}/${SERVICE}:${agent.port}`
}

beforeAll(async () => {
  agent = await startSampleAgent(SERVICE)
  listenerPort = await freePort()
  dir = new ManifestDir()
    .writeGatewayClass()
    .writeGateway({ name: GATEWAY, namespace: NS, listeners: [{ name: LISTENER, port: listenerPort, protocol: "kgateway.dev/a2a" }] })
    .writeService({ name: SERVICE, namespace: NS, ports: [{ name: "a2a", port: agent.port, appProtocol: "kgateway.dev/a2a" }] })
  agentplane = await startAgentplane(dir.path)
})

afterAll(async () => {
  await stopAllProcesses()
  dir?.remove()
})

const connectTestProxy = useTestProxies(() => agentplane)

describe("A2A: control plane", () => {
  it("the sample agent is a real A2A agent: its card carries its own address and it answers 0.3 and 1.0 clients directly", async () => {
    const cardUrl = `${agent.url}${CARD_PATH}`
    const legacy = await fetchAgentCard(cardUrl)
    expect(legacy).toMatchObject({ name: SERVICE, url: `http://localhost:${agent.port}/`, protocolVersion: "0.3" })
    expect(await sendWithLegacyCard(legacy, "hello 0.3")).toBe("echo: hello 0.3")
    const card = await fetchAgentCard(cardUrl, "1.0")
    expect(card.supportedInterfaces.map((i: { url: string }) => i.url)).toEqual([`http://localhost:${agent.port}/`, `http://localhost:${agent.port}/`])
    expect(await sendWithCardUrl(cardUrl, "hello 1.0")).toBe("echo: hello 1.0")
  })

  it("a proxy of the Gateway receives the agent's route under /<ns>/<svc>, rewritten to the agent's base path, with the a2a backend policy", async () => {
    const proxy = connectTestProxy({ gateway: GATEWAY, namespace: NS })
    const expected = [names.bind(), names.listener, names.route(), names.backend()].sort()
    await proxy.until(() => heldNames(proxy).join() === expected.join(), `exactly ${expected.join(", ")}`)
    expect(heldJson(proxy, names.bind())).toEqual({ bind: { key: `${listenerPort}/${NS}/${GATEWAY}`, port: listenerPort } })
    expect(heldJson(proxy, names.listener)).toMatchObject({
      listener: { key: `${NS}/${GATEWAY}.${LISTENER}`, bindKey: `${listenerPort}/${NS}/${GATEWAY}`, protocol: "HTTP" }
    })
    const route = heldJson(proxy, names.route()).route
    expect(route).toMatchObject({
      listenerKey: `${NS}/${GATEWAY}.${LISTENER}`,
      matches: [{ path: { pathPrefix: PREFIX } }],
      // The agent serves at "/" (no kgateway.dev/a2a-path annotation).
      trafficPolicies: [{ urlRewrite: { prefix: "/" } }]
    })
    // The a2a policy is what makes the proxy rewrite agent-card URLs to its own.
    expect(route.backends).toEqual([{ backend: { backend: `${NS}/${SERVICE}:${agent.port}` }, weight: 1, backendPolicies: [{ a2a: {} }] }])
    expect(heldJson(proxy, names.backend())).toEqual({
      backend: { key: `${NS}/${SERVICE}:${agent.port}`, name: { name: SERVICE, namespace: NS }, static: { host: "localhost", port: agent.port } }
    })
  })
})

describeThroughProxies("A2A", (release) => {
  let proxy: RunningProxy | undefined
  const strict = useStrictInterop({ proxy: () => proxy, agentplane: () => agentplane, gateway: `${NS}/${GATEWAY}` })
  const agentUrl = () => `http://127.0.0.1:${listenerPort}${PREFIX}`
  const cardUrl = () => `${agentUrl()}${CARD_PATH}`
  /** The card's URL must name the gateway's listener and the agent's prefix, not the agent. */
  const pointsAtGateway = (url: string) => url === agentUrl() || url.startsWith(`${agentUrl()}/`)

  beforeAll(async () => {
    proxy = await startProxy({ release, xdsPort: agentplane.xdsPort, gateway: GATEWAY, namespace: NS })
  }, 180_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  it(`the agent card fetched through the gateway has its url rewritten to the gateway's`, async () => {
    const card = await eventually(
      () => fetchAgentCard(cardUrl()),
      () => true,
      { what: `GET ${cardUrl()}` }
    )
    expect(card.name).toBe(SERVICE)
    expect(card.url, JSON.stringify(card)).toSatisfy(pointsAtGateway)
  })

  it(`an A2A 0.3 client of that card gets the agent's reply through the gateway`, async () => {
    const card = await fetchAgentCard(cardUrl())
    expect(await sendWithLegacyCard(card, "through the gateway")).toBe("echo: through the gateway")
    // The agent saw it: the reply did not come from somewhere else.
    expect(agent.process.log()).toContain(`message: "through the gateway"`)
  })

  // agentgateway rewrites the 1.0 card's supportedInterfaces only since
  // agentgateway/agentgateway#2251 (June 2026, first released in v1.3.0).
  itWhereReleaseHas(release, "a2aV1CardRewrite")(`A2A 1.0: the card's supportedInterfaces point at the gateway and a 1.0 client gets the reply`, async () => {
    const card = await fetchAgentCard(cardUrl(), "1.0")
    const urls: Array<string> = card.supportedInterfaces.map((i: { url: string }) => i.url)
    expect(urls.length).toBeGreaterThan(0)
    for (const url of urls) expect(url, JSON.stringify(card)).toSatisfy(pointsAtGateway)
    expect(await sendWithCardUrl(cardUrl(), "1.0 through the gateway")).toBe("echo: 1.0 through the gateway")
  })

  strict.itHeldStrictly()
})
