// JWT with a remote JWKS end to end: an AgentgatewayPolicy on a Gateway names
// a key set served by a local identity provider (keys and tokens made with
// jose), which is down when agentplane starts. The control-plane half checks
// what a proxy of the Gateway receives and the policy's status; the proxy
// half, once per agentgateway release found, checks what clients get through
// the real proxy: 401 without a good token, tools with one, rotated keys
// accepted after the refresh (`--jwks-max-refresh 2s`).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { jwksFromValue } from "../../src/jwks/jwksDocument.ts"
import { type Agentplane, type ConfigDumpJson, startAgentplane } from "./harness/agentplane.ts"
import { encryptionJwk, type IdentityProvider, type SigningKey, signingKey, startIdentityProvider } from "./harness/identityProvider.ts"
import { ManifestDir } from "./harness/manifests.ts"
import { toolNames, withMcpClient } from "./harness/mcpClient.ts"
import { type Peer, startOwnMcpServer } from "./harness/peers.ts"
import { freePort } from "./harness/ports.ts"
import { stopAllProcesses, useProcesses } from "./harness/processes.ts"
import { describeThroughProxies, type RunningProxy, startProxy, useStrictInterop } from "./harness/proxy.ts"
import { eventually } from "./harness/readiness.ts"
import { heldJson, useTestProxies } from "./harness/xds.ts"

useProcesses()

const NS = "jwks"
const GATEWAY = "secured"
const ISSUER = "https://idp.e2e.example"
const AUDIENCE = "mcp-tools"
const JWKS_PATH = "/.well-known/jwks.json"
const POLICY_RESOURCE = `policy/traffic/${NS}/jwt:jwt:${NS}/${GATEWAY}`
const REFRESH = "2s"

let own: Peer
let first: SigningKey
let rotated: SigningKey
/** Same kid as `first`, another key: its tokens have a wrong signature. */
let impostor: SigningKey

interface Scenario {
  readonly idp: IdentityProvider
  readonly dir: ManifestDir
  readonly agentplane: Agentplane
  readonly listenerPort: number
}
const scenarios: Array<Scenario> = []

/** The identity provider's Service: how agentplane finds the JWKS endpoint (not an MCP target). */
const idpService = (port: number) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "idp", namespace: NS },
  spec: { type: "ExternalName", externalName: "localhost", ports: [{ name: "http", port }] }
})

const jwtPolicy = (idpPort: number) => ({
  apiVersion: "agentgateway.dev/v1alpha1",
  kind: "AgentgatewayPolicy",
  metadata: { name: "jwt", namespace: NS },
  spec: {
    targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: GATEWAY }],
    traffic: {
      jwtAuthentication: {
        mode: "Strict",
        providers: [
          {
            issuer: ISSUER,
            audiences: [AUDIENCE],
            jwks: { remote: { backendRef: { name: "idp", port: idpPort }, jwksPath: JWKS_PATH, cacheDuration: "5m" } }
          }
        ]
      }
    }
  }
})

/** A Gateway in front of our MCP server, secured by a Strict JWT policy whose keys the (down) identity provider serves. */
const startScenario = async (): Promise<Scenario> => {
  const idp = await startIdentityProvider(JWKS_PATH)
  const listenerPort = await freePort()
  const dir = new ManifestDir()
    .writeGatewayClass()
    .writeGateway({ name: GATEWAY, namespace: NS, listeners: [{ name: "mcp", port: listenerPort, protocol: "kgateway.dev/mcp" }] })
    .writeService({ name: "own", namespace: NS, ports: [{ name: "mcp", port: own.port, appProtocol: "kgateway.dev/mcp" }] })
    .writeObject(idpService(idp.port))
    .writeObject(jwtPolicy(idp.port))
  const agentplane = await startAgentplane(dir.path, ["--jwks-max-refresh", REFRESH])
  const scenario = { idp, dir, agentplane, listenerPort }
  scenarios.push(scenario)
  return scenario
}

const accepted = (dump: ConfigDumpJson): { status: string; reason: string; message: string } | undefined =>
  dump.statuses
    .find((s) => s.kind === "AgentgatewayPolicy" && s.namespace === NS && s.name === "jwt")
    ?.status?.ancestors?.[0]?.conditions?.find((c: { type: string }) => c.type === "Accepted")

/** The policy is sent without the provider and says why: the fetch failed, with the provider's answer. */
const expectPartiallyValid = async (agentplane: Agentplane) => {
  const condition = await eventually(
    async () => accepted(await agentplane.configDump()),
    (c) => c?.reason === "PartiallyValid" && c.message.includes("503"),
    { what: "Accepted=True, PartiallyValid, naming the fetch error", timeoutMs: 30_000 }
  )
  expect(condition!.status).toBe("True")
  expect(condition!.message).toContain(`provider ${ISSUER} is left out`)
  expect(condition!.message).toContain(`http://localhost:${scenarios.find((s) => s.agentplane === agentplane)!.idp.port}${JWKS_PATH}`)
  expect(condition!.message).toContain("the identity provider answered HTTP 503 (expected 200)")
}

const expectAcceptedAgain = async (agentplane: Agentplane) => {
  const condition = await eventually(
    async () => accepted(await agentplane.configDump()),
    (c) => c?.status === "True" && c.reason === "Valid",
    { what: "Accepted=True, Valid", timeoutMs: 40_000 }
  )
  expect(condition!.message).toBe("the policy is accepted")
}

const canonical = (...keys: ReadonlyArray<SigningKey>) => {
  const document = jwksFromValue({ keys: keys.map((key) => key.jwk) })
  if (document._tag !== "Valid") throw new Error(document.message)
  return document.jwks
}

beforeAll(async () => {
  ;[own, first, rotated, impostor] = await Promise.all([startOwnMcpServer("own"), signingKey("first"), signingKey("rotated"), signingKey("first")])
}, 60_000)

afterAll(async () => {
  await stopAllProcesses()
  for (const scenario of scenarios) {
    await scenario.idp.close()
    scenario.dir.remove()
  }
})

describe("remote JWKS: control plane", () => {
  let scenario: Scenario
  beforeAll(async () => {
    scenario = await startScenario()
  }, 60_000)
  const connectTestProxy = useTestProxies(() => scenario.agentplane)

  it("identity provider down at start: the policy is sent without the provider (Strict), PartiallyValid naming it and the error", async () => {
    const proxy = connectTestProxy({ gateway: GATEWAY, namespace: NS })
    await proxy.until(() => proxy.resourceHoldings().has(POLICY_RESOURCE), "the JWT policy")
    expect(heldJson(proxy, POLICY_RESOURCE).policy.traffic.jwt).toEqual({ mode: "STRICT" })
    await expectPartiallyValid(scenario.agentplane)
    expect(scenario.idp.fetches()).toBeGreaterThan(0)
  }, 60_000)

  it("provider back: its keys are sent inline as canonical JSON and the policy is Accepted=True; rotation arrives with the refresh", async () => {
    const proxy = connectTestProxy({ gateway: GATEWAY, namespace: NS })
    scenario.idp.serve([first])
    const inline = () => heldJson(proxy, POLICY_RESOURCE).policy.traffic.jwt.providers?.[0]?.inline
    await proxy.until(() => proxy.resourceHoldings().has(POLICY_RESOURCE) && inline() === canonical(first), "the provider with the first key", 40_000)
    expect(heldJson(proxy, POLICY_RESOURCE).policy.traffic.jwt.providers[0]).toEqual({ issuer: ISSUER, audiences: [AUDIENCE], inline: canonical(first) })
    await expectAcceptedAgain(scenario.agentplane)

    const started = Date.now()
    scenario.idp.serve([rotated])
    await proxy.until(() => inline() === canonical(rotated), "the rotated key", 10_000)
    // Picked up by the next refresh, at most --jwks-max-refresh after the previous fetch.
    expect(Date.now() - started).toBeLessThan(2_000 + 4_000)

    const metrics = await scenario.agentplane.metrics()
    expect(metrics).toMatch(/agentplane_jwks_fetches_total\{result="failure"\} [1-9]/)
    expect(metrics).toMatch(/agentplane_jwks_fetches_total\{result="success"\} [1-9]/)
    const log = scenario.agentplane.process.log()
    expect(log).toContain(`JWKS http://localhost:${scenario.idp.port}${JWKS_PATH}: fetch failed: the identity provider answered HTTP 503 (expected 200)`)
    expect(log).toMatch(/fetched 1 key\(s\) again after \d+ failed attempt\(s\)/)
    expect(log).not.toContain(first.jwk.n!)
  }, 90_000)
})

describeThroughProxies("remote JWKS", (release) => {
  let scenario: Scenario
  let proxy: RunningProxy | undefined
  beforeAll(async () => {
    scenario = await startScenario()
  }, 60_000)
  const strict = useStrictInterop({ proxy: () => proxy, agentplane: () => scenario.agentplane, gateway: `${NS}/${GATEWAY}` })
  beforeAll(async () => {
    proxy = await startProxy({ release, xdsPort: scenario.agentplane.xdsPort, gateway: GATEWAY, namespace: NS })
  }, 180_000)
  afterAll(async () => {
    await proxy?.stop()
  })

  const url = () => `http://127.0.0.1:${scenario.listenerPort}/mcp`
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  /** The HTTP status of an MCP initialize through the gateway. */
  const initializeStatus = async (token?: string) => {
    const response = await fetch(url(), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(token === undefined ? {} : bearer(token)) },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "agentplane-e2e", version: "1.0.0" } }
      })
    })
    await response.body?.cancel()
    return response.status
  }
  const tools = (token: string) => withMcpClient(url(), "streamable", toolNames, bearer(token))

  it("identity provider down at start: PartiallyValid, and Strict rejects requests with or without a valid token", async () => {
    await expectPartiallyValid(scenario.agentplane)
    await eventually(
      () => initializeStatus(),
      (status) => status === 401,
      { what: "401 without a token (the policy reached the proxy)" }
    )
    expect(await initializeStatus(await first.token({ iss: ISSUER, aud: AUDIENCE }))).toBe(401)
  })

  it("provider back: keys fetched (an encryption key beside the signing key, as Keycloak publishes), a valid token lists the tools, the policy is Accepted=True", async () => {
    scenario.idp.serve([first], [await encryptionJwk("encryption")])
    const token = await first.token({ iss: ISSUER, aud: AUDIENCE })
    const listed = await eventually(
      () => tools(token),
      (names) => names.includes(`own.${NS}_whoami`),
      { what: "the tools with a valid token", timeoutMs: 40_000 }
    )
    expect(listed).toEqual([`own.${NS}_add`, `own.${NS}_header`, `own.${NS}_whoami`])
    await expectAcceptedAgain(scenario.agentplane)
  }, 90_000)

  it("no token, a wrong signature, a wrong issuer and an expired token are 401", async () => {
    expect(await initializeStatus()).toBe(401)
    expect(await initializeStatus(await impostor.token({ iss: ISSUER, aud: AUDIENCE }))).toBe(401)
    expect(await initializeStatus(await first.token({ iss: "https://other.e2e.example", aud: AUDIENCE }))).toBe(401)
    expect(await initializeStatus(await first.token({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) - 3600 }))).toBe(401)
    expect(await initializeStatus(await first.token({ iss: ISSUER, aud: AUDIENCE }))).toBe(200)
  })

  it(`key rotation at the endpoint: the new key's tokens are accepted after the refresh (--jwks-max-refresh ${REFRESH}), the old key's refused`, async () => {
    const token = await rotated.token({ iss: ISSUER, aud: AUDIENCE })
    expect(await initializeStatus(token)).toBe(401)
    scenario.idp.serve([rotated])
    const started = Date.now()
    await eventually(
      () => initializeStatus(token),
      (status) => status === 200,
      { what: "the rotated key's token accepted", timeoutMs: 10_000, intervalMs: 100 }
    )
    expect(Date.now() - started).toBeLessThan(2_000 + 4_000)
    expect(await tools(token)).toEqual([`own.${NS}_add`, `own.${NS}_header`, `own.${NS}_whoami`])
    expect(await initializeStatus(await first.token({ iss: ISSUER, aud: AUDIENCE }))).toBe(401)
  })

  strict.itHeldStrictly()
})
