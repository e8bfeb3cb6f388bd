// Securing a gateway end to end: AgentgatewayPolicy objects in the manifest directory, enforced
// by the real proxy. One Gateway carries JWT (inline keys, MCP OAuth metadata) and tool
// authorization by role; another has one listener per credential or limit (API keys from a
// Secret, CORS, a local rate limit, basic auth, credentials sent upstream). The control-plane
// half checks what agentplane reports and that no credential leaks; the proxy half, once per
// release, checks what clients see through the proxy.
import { createHash } from "node:crypto"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { discoverOAuthProtectedResourceMetadata, extractResourceMetadataUrl } from "@modelcontextprotocol/sdk/client/auth.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startAgentplane, type Agentplane } from "./harness/agentplane.ts"
import { ManifestDir } from "./harness/manifests.ts"
import { callText, toolNames } from "./harness/mcpClient.ts"
import { startOwnMcpServer, type Peer } from "./harness/peers.ts"
import { freePorts } from "./harness/ports.ts"
import { stopAllProcesses, useProcesses } from "./harness/processes.ts"
import { describeThroughProxies, startProxy, useStrictInterop, type RunningProxy } from "./harness/proxy.ts"
import { eventually } from "./harness/readiness.ts"
import { heldNames, useTestProxies } from "./harness/xds.ts"
import { Resource } from "../../src/gen/agentgateway/resource.ts"

useProcesses()

const NS = "e2e"
const SECURED = "secured"
const KEYED = "keyed"
const ISSUER = "https://idp.e2e.example"
const AUDIENCE = "agentplane-e2e"
const KID = "e2e-key-1"
const API_KEY = "k-e2e-api-key-6b1f"
const ADMIN_API_KEY = "k-e2e-admin-key-51d0"
const UPSTREAM_TOKEN = "upstream-t0ken-93c2"
const BASIC_PASSWORD = "b4sic-pw-e2e"
const ALLOWED_ORIGIN = "https://app.example.com"
const RATE_BUDGET = 3
/** Every credential the scenario configures: none may appear in config_dump or agentplane's log. */
const SECRETS = [API_KEY, ADMIN_API_KEY, UPSTREAM_TOKEN, BASIC_PASSWORD]
const KEYED_LISTENERS = ["apikey", "browser", "limited", "basic", "upstream", "early"] as const

let dir: ManifestDir
let agentplane: Agentplane
let own: Peer
let ports: Record<"secured" | (typeof KEYED_LISTENERS)[number], number>
let signingKey: CryptoKey
let otherKey: CryptoKey

const gatewayRef = (name: string, sectionName?: string) => ({
  group: "gateway.networking.k8s.io",
  kind: "Gateway",
  name,
  ...(sectionName === undefined ? {} : { sectionName })
})
const policy = (name: string, targetRefs: ReadonlyArray<unknown>, spec: Record<string, unknown>) => ({
  apiVersion: "agentgateway.dev/v1alpha1",
  kind: "AgentgatewayPolicy",
  metadata: { name, namespace: NS },
  spec: { targetRefs, ...spec }
})
const secret = (name: string, stringData: Record<string, string>) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: NS }, stringData })

const token = (claims: Record<string, unknown>, options: { key?: CryptoKey; issuer?: string; expiresAt?: number } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: KID })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(AUDIENCE)
    .setSubject("e2e-user")
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600)
    .sign(options.key ?? signingKey)

beforeAll(async () => {
  own = await startOwnMcpServer("own")
  const [secured, apikey, browser, limited, basic, upstream, early] = (await freePorts(7)) as [number, number, number, number, number, number, number]
  ports = { secured, apikey, browser, limited, basic, upstream, early }
  const pair = await generateKeyPair("ES256", { extractable: true })
  signingKey = pair.privateKey
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: "ES256", use: "sig" }
  // Same kid, another key: a token it signs carries a wrong signature.
  otherKey = (await generateKeyPair("ES256")).privateKey
  // htpasswd SHA-1 form: {SHA}base64(sha1(password)).
  const htpasswd = `alice:{SHA}${createHash("sha1").update(BASIC_PASSWORD).digest("base64")}`
  dir = new ManifestDir()
    .writeGatewayClass()
    .writeGateway({ name: SECURED, namespace: NS, listeners: [{ name: "mcp", port: secured, protocol: "kgateway.dev/mcp" }] })
    .writeGateway({
      name: KEYED,
      namespace: NS,
      listeners: KEYED_LISTENERS.map((name) => ({ name, port: ports[name], protocol: "kgateway.dev/mcp" as const }))
    })
    .writeService({ name: "own", namespace: NS, ports: [{ name: "mcp", port: own.port, appProtocol: "kgateway.dev/mcp" }] })
    .writeObject(
      policy("jwt", [gatewayRef(SECURED)], {
        traffic: {
          jwtAuthentication: {
            mode: "Strict",
            providers: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks: { inline: JSON.stringify({ keys: [jwk] }) } }],
            mcp: { resourceMetadata: { scopesSupported: ["tools/call"], bearerMethodsSupported: ["header"] } }
          }
        }
      })
    )
    .writeObject(
      policy("tools-by-role", [gatewayRef(SECURED)], {
        backend: {
          mcp: {
            authorization: {
              policy: { matchExpressions: ['jwt.role == "admin"', 'jwt.role == "reader" && mcp.tool.name == "whoami"'] }
            }
          }
        }
      })
    )
    // One key as the bare value, one with metadata that tool authorization reads as apiKey.role.
    .writeObject(secret("api-keys", { ci: API_KEY, admin: JSON.stringify({ key: ADMIN_API_KEY, metadata: { role: "admin" } }) }))
    .writeObject(
      policy("api-key", [gatewayRef(KEYED, "apikey")], {
        traffic: { apiKeyAuthentication: { secretRef: { name: "api-keys" } } },
        backend: { mcp: { authorization: { policy: { matchExpressions: ['apiKey.role == "admin"', 'mcp.tool.name == "whoami"'] } } } }
      })
    )
    .writeObject(
      policy("browser", [gatewayRef(KEYED, "browser")], {
        traffic: {
          cors: {
            allowOrigins: [ALLOWED_ORIGIN],
            allowMethods: ["POST", "GET", "DELETE"],
            allowHeaders: ["content-type", "authorization", "mcp-protocol-version"],
            exposeHeaders: ["mcp-session-id"],
            maxAge: 600
          }
        }
      })
    )
    .writeObject(policy("budget", [gatewayRef(KEYED, "limited")], { traffic: { rateLimit: { local: [{ requests: RATE_BUDGET, unit: "Minutes" }] } } }))
    .writeObject(policy("basic", [gatewayRef(KEYED, "basic")], { traffic: { basicAuthentication: { users: [htpasswd] } } }))
    .writeObject(policy("early", [gatewayRef(KEYED, "early")], { traffic: { phase: "PreRouting", apiKeyAuthentication: { secretRef: { name: "api-keys" } } } }))
    .writeObject(secret("upstream-token", { Authorization: `Bearer ${UPSTREAM_TOKEN}` }))
    .writeObject(policy("upstream", [gatewayRef(KEYED, "upstream")], { backend: { auth: { secretRef: { name: "upstream-token" } } } }))
  agentplane = await startAgentplane(dir.path)
}, 60_000)

afterAll(async () => {
  await stopAllProcesses()
  dir?.remove()
})

const connectTestProxy = useTestProxies(() => agentplane)

describe("policies: control plane", () => {
  it("every policy is Accepted (Valid) and Attached on its Gateway", async () => {
    const dump = await agentplane.configDump()
    const policies = dump.statuses.filter((s) => s.kind === "AgentgatewayPolicy")
    expect(policies.map((p) => p.name).sort()).toEqual(["api-key", "basic", "browser", "budget", "early", "jwt", "tools-by-role", "upstream"])
    for (const entry of policies) {
      for (const ancestor of entry.status.ancestors) {
        expect(ancestor.controllerName).toBe("kgateway.dev/kgateway")
        expect(ancestor.conditions.map((c: { type: string; reason: string }) => `${c.type}=${c.reason}`)).toEqual(["Accepted=Valid", "Attached=Attached"])
      }
    }
  })

  it("a policy reaches only the proxies of the Gateway it targets", async () => {
    const secured = connectTestProxy({ gateway: SECURED, namespace: NS })
    const keyed = connectTestProxy({ gateway: KEYED, namespace: NS })
    await secured.until(() => heldNames(secured).some((n) => n.startsWith("policy/")), "the secured Gateway's policies")
    await keyed.until(() => heldNames(keyed).some((n) => n.startsWith("policy/")), "the keyed Gateway's policies")
    expect(heldNames(secured).filter((n) => n.startsWith("policy/"))).toEqual([
      `policy/${NS}/tools-by-role:mcp-authorization:${NS}/${SECURED}`,
      `policy/traffic/${NS}/jwt:jwt:${NS}/${SECURED}`
    ])
    expect(heldNames(keyed).filter((n) => n.startsWith("policy/"))).toEqual([
      `policy/backend/${NS}/upstream:backend-auth:${NS}/${KEYED}/upstream`,
      `policy/${NS}/api-key:mcp-authorization:${NS}/${KEYED}/apikey`,
      `policy/traffic/${NS}/api-key:apikeyauth:${NS}/${KEYED}/apikey`,
      `policy/traffic/${NS}/basic:basicauth:${NS}/${KEYED}/basic`,
      `policy/traffic/${NS}/browser:cors:${NS}/${KEYED}/browser`,
      `policy/traffic/${NS}/budget:rl-local:${NS}/${KEYED}/limited`,
      `policy/traffic/${NS}/early:apikeyauth:${NS}/${KEYED}/early`
    ])
  })

  it("no credential appears in config_dump or in agentplane's log, while the proxy gets them", async () => {
    const dump = JSON.stringify(await agentplane.configDump())
    for (const value of SECRETS) {
      expect(dump).not.toContain(value)
      expect(agentplane.process.log()).not.toContain(value)
    }
    expect(dump).toContain("<redacted>")
    const keyed = connectTestProxy({ gateway: KEYED, namespace: NS })
    await keyed.until(() => heldNames(keyed).length > 0, "the keyed Gateway's resources")
    const held = JSON.stringify([...keyed.decoded.values()].map((resource) => Resource.toJSON(resource)))
    expect(held).toContain(API_KEY)
    expect(held).toContain(UPSTREAM_TOKEN)
  })
})

/** An MCP SDK client that sends `headers` with every request. */
const withClient = async <A>(url: string, headers: Record<string, string>, use: (client: Client) => Promise<A>): Promise<A> => {
  const client = new Client({ name: "agentplane-e2e", version: "1.0.0" })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "agentplane-e2e", version: "1.0.0" } }
})

/** A raw MCP initialize POST, for answers an SDK client would turn into exceptions. */
const initialize = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: INITIALIZE })

const bearer = (value: string) => ({ authorization: `Bearer ${value}` })

describeThroughProxies("policies", (release) => {
  let secured: RunningProxy | undefined
  let keyed: RunningProxy | undefined
  const strictSecured = useStrictInterop({ proxy: () => secured, agentplane: () => agentplane, gateway: `${NS}/${SECURED}` })
  const strictKeyed = useStrictInterop({ proxy: () => keyed, agentplane: () => agentplane, gateway: `${NS}/${KEYED}` })
  const url = (listener: keyof typeof ports, path = "/mcp") => `http://127.0.0.1:${ports[listener]}${path}`

  beforeAll(async () => {
    ;[secured, keyed] = await Promise.all([
      startProxy({ release, xdsPort: agentplane.xdsPort, gateway: SECURED, namespace: NS }),
      startProxy({ release, xdsPort: agentplane.xdsPort, gateway: KEYED, namespace: NS })
    ])
  }, 180_000)
  afterAll(async () => {
    await Promise.all([secured?.stop(), keyed?.stop()])
  })

  it("JWT: no token, a wrong signature, a wrong issuer or an expired token get 401; a valid token lists the tools", async () => {
    const admin = await token({ role: "admin" })
    // The first answer through a fresh proxy waits for its configuration.
    await eventually(
      () => withClient(url("secured"), bearer(admin), toolNames),
      (tools) => tools.length > 0,
      { what: "tools listed with a valid token" }
    )
    expect((await initialize(url("secured"))).status).toBe(401)
    expect((await initialize(url("secured"), bearer(await token({ role: "admin" }, { key: otherKey })))).status).toBe(401)
    expect((await initialize(url("secured"), bearer(await token({ role: "admin" }, { issuer: "https://elsewhere.example" })))).status).toBe(401)
    const expired = await token({ role: "admin" }, { expiresAt: Math.floor(Date.now() / 1000) - 600 })
    expect((await initialize(url("secured"), bearer(expired))).status).toBe(401)
    expect((await initialize(url("secured"), bearer(admin))).status).toBe(200)
  })

  it("MCP OAuth: the 401 names protected-resource metadata that the MCP SDK discovers", async () => {
    const refused = await initialize(url("secured"))
    expect(refused.status).toBe(401)
    const metadataUrl = extractResourceMetadataUrl(refused)
    expect(metadataUrl, `WWW-Authenticate: ${refused.headers.get("www-authenticate")}`).toBeDefined()
    const metadata = await discoverOAuthProtectedResourceMetadata(url("secured"), metadataUrl === undefined ? {} : { resourceMetadataUrl: metadataUrl })
    expect(metadata.resource).toContain(`127.0.0.1:${ports.secured}/mcp`)
    expect(metadata.authorization_servers).toContain(ISSUER)
    expect(metadata.scopes_supported).toEqual(["tools/call"])
  })

  it("tool authorization: a reader sees and calls only whoami and is refused add; an admin sees every tool", async () => {
    const reader = bearer(await token({ role: "reader" }))
    await withClient(url("secured"), reader, async (client) => {
      expect(await toolNames(client)).toEqual([`own.${NS}_whoami`])
      expect(await callText(client, `own.${NS}_whoami`)).toBe("own")
      await expect(callText(client, `own.${NS}_add`, { a: 1, b: 2 })).rejects.toThrow()
    })
    await withClient(url("secured"), bearer(await token({ role: "admin" })), async (client) => {
      expect(await toolNames(client)).toEqual([`own.${NS}_add`, `own.${NS}_header`, `own.${NS}_whoami`])
      expect(await callText(client, `own.${NS}_add`, { a: 1, b: 2 })).toBe("3")
    })
  })

  it("API key from a Secret: a key gets 200, a wrong key or none 401; the key's metadata drives tool authorization", async () => {
    await eventually(
      () => initialize(url("apikey"), bearer(API_KEY)).then((r) => r.status),
      (status) => status === 200,
      { what: "the API key accepted" }
    )
    expect((await initialize(url("apikey"), bearer("k-wrong"))).status).toBe(401)
    expect((await initialize(url("apikey"))).status).toBe(401)
    expect(await withClient(url("apikey"), bearer(API_KEY), toolNames)).toEqual([`own.${NS}_whoami`])
    expect(await withClient(url("apikey"), bearer(ADMIN_API_KEY), toolNames)).toEqual([`own.${NS}_add`, `own.${NS}_header`, `own.${NS}_whoami`])
  })

  it("PreRouting: an API key checked before route selection still gets 200, none 401", async () => {
    await eventually(
      () => initialize(url("early"), bearer(API_KEY)).then((r) => r.status),
      (status) => status === 200,
      { what: "the API key accepted before routing" }
    )
    expect((await initialize(url("early"))).status).toBe(401)
    expect((await initialize(url("early"), bearer("k-wrong"))).status).toBe(401)
  })

  it("CORS: a preflight from the allowed origin is answered as configured; another origin gets no CORS headers", async () => {
    const preflight = (origin: string) =>
      fetch(url("browser"), {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,mcp-protocol-version" }
      })
    const allowed = await eventually(
      () => preflight(ALLOWED_ORIGIN),
      (r) => r.headers.get("access-control-allow-origin") !== null,
      { what: "a CORS preflight answer" }
    )
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN)
    expect(allowed.headers.get("access-control-allow-methods")?.split(/,\s*/)).toEqual(expect.arrayContaining(["POST", "GET", "DELETE"]))
    expect(allowed.headers.get("access-control-allow-headers")).toContain("mcp-protocol-version")
    expect(allowed.headers.get("access-control-max-age")).toBe("600")
    const other = await preflight("https://evil.example.com")
    expect(other.headers.get("access-control-allow-origin")).toBeNull()
  })

  it(`local rate limit: ${RATE_BUDGET} requests a minute pass, the next gets 429`, async () => {
    const statuses: Array<number> = []
    for (let i = 0; i < RATE_BUDGET + 2; i++) statuses.push((await initialize(url("limited"))).status)
    expect(statuses).toEqual([...Array.from({ length: RATE_BUDGET }, () => 200), 429, 429])
  })

  it("basic auth: the user's password gets 200, a wrong one 401", async () => {
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`alice:${password}`).toString("base64")}` })
    await eventually(
      () => initialize(url("basic"), basic(BASIC_PASSWORD)).then((r) => r.status),
      (status) => status === 200,
      { what: "basic auth accepted" }
    )
    expect((await initialize(url("basic"), basic("wrong"))).status).toBe(401)
    expect((await initialize(url("basic"))).status).toBe(401)
  })

  it("backend auth from a Secret: the upstream MCP server receives the key (Bearer prefix as configured)", async () => {
    const seen = await eventually(
      () => withClient(url("upstream"), {}, (client) => callText(client, `own.${NS}_header`, { name: "authorization" })),
      (value) => value !== "(none)",
      { what: "the upstream credential" }
    )
    expect(seen).toBe(`Bearer ${UPSTREAM_TOKEN}`)
  })

  strictSecured.itHeldStrictly()
  strictKeyed.itHeldStrictly()
})
