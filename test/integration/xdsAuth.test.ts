// xDS authentication with real tokens: in Kubernetes mode every stream must
// present a ServiceAccount token for audience agentgateway, reviewed by the
// harness API server, and reads only its own Gateway. File mode stays open on
// loopback (elsewhere only when told so), and serves TLS when given a certificate.
import * as grpc from "@grpc/grpc-js"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Logger, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { directoryInput } from "../../src/files/readManifests.ts"
import { serveLayer } from "../../src/main.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { XdsServer } from "../../src/xds/server.ts"
import { writePki, type Pki } from "../harness/kube/certs.ts"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { eventually, installOurCrds, type Kube, kubeClient, serviceAccountToken } from "../support/kube.ts"
import { type KubeAgentplane, startKubeAgentplane, tearDown } from "../support/kubeAgentplane.ts"
import { TestProxy } from "../support/xdsClient.ts"

const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"

let cluster: Cluster
let kube: Kube
let agentplane: KubeAgentplane | undefined
let xdsAddress: string
let adminUrl: string
let debugUrl: string
const logs: Array<string> = []
const proxies: Array<TestProxy> = []

const connect = (address: string, gateway: string, namespace: string, options: Partial<ConstructorParameters<typeof TestProxy>[0]> = {}) => {
  const proxy = new TestProxy({ address, gateway, namespace, ...options })
  proxies.push(proxy)
  return proxy
}

const served = async (proxy: TestProxy, bind: string) => {
  await proxy.until(() => proxy.resourceHoldings().has(bind), `the binds of ${proxy.options.namespace}/${proxy.options.gateway}`)
  expect(proxy.status).toBeUndefined()
}

const createGateway = (namespace: string, name: string) =>
  kube.must("POST", `${GATEWAYS}/namespaces/${namespace}/gateways`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name },
    spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
  })

/** Log lines of the refusals, without the tokens: agentplane never logs them. */
const refusalLogged = (fragment: string) => logs.some((line) => line.includes("refused xDS stream") && line.includes(fragment))

beforeAll(async () => {
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await installOurCrds(kube)
  for (const name of ["team", "other"]) await kube.must("POST", "/api/v1/namespaces", { metadata: { name } })
  await kube.must("POST", `${GATEWAYS}/gatewayclasses`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "mcp" },
    spec: { controllerName: "kgateway.dev/kgateway" }
  })
  await createGateway("team", "a")
  await createGateway("team", "b")
  await createGateway("other", "a")
  const capture = Logger.make((options) => {
    logs.push(String(options.message))
  })
  agentplane = await startKubeAgentplane(cluster, { identity: "auth-test", logger: capture })
  xdsAddress = agentplane.xdsAddress
  adminUrl = agentplane.adminUrl
  debugUrl = agentplane.debugUrl
  // Every Gateway programmed before proxies connect.
  await eventually(async () => {
    const dump = (await (await fetch(`${debugUrl}/debug/config_dump`)).json()) as { gateways: Array<unknown> }
    return dump.gateways.length === 3 ? true : undefined
  }, "three programmed gateways")
}, 45 * 60_000)

afterAll(() => tearDown(proxies, agentplane, cluster), 60_000)

describe("xDS authentication in Kubernetes mode", () => {
  it("serves gateway A to a proxy with A's token, and refuses it gateway B and same-named A elsewhere", async () => {
    const tokenA = await serviceAccountToken(kube, "team", "a")
    await served(connect(xdsAddress, "a", "team", { token: tokenA }), "bind/8080/team/a")

    const asB = connect(xdsAddress, "b", "team", { token: tokenA })
    const denied = await asB.closed()
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED)
    expect(denied.details).toContain("ServiceAccount team/a may only read Gateway team/a, not team/b")
    expect(asB.responses).toHaveLength(0)

    const elsewhere = await connect(xdsAddress, "a", "other", { token: tokenA }).closed()
    expect(elsewhere.code).toBe(grpc.status.PERMISSION_DENIED)
    expect(refusalLogged("gateway team/b (PERMISSION_DENIED)")).toBe(true)
    expect(logs.some((line) => line.includes(tokenA))).toBe(false)
  })

  it("refuses a stream without a token, with a token for another audience, and with a made-up token", async () => {
    const missing = connect(xdsAddress, "a", "team")
    const missingStatus = await missing.closed()
    expect(missingStatus.code).toBe(grpc.status.UNAUTHENTICATED)
    expect(missingStatus.details).toContain("no bearer token")
    expect(missing.responses).toHaveLength(0)

    const kubernetesAudience = await serviceAccountToken(kube, "team", "a", [])
    const wrongAudience = await connect(xdsAddress, "a", "team", { token: kubernetesAudience }).closed()
    expect(wrongAudience.code).toBe(grpc.status.UNAUTHENTICATED)
    expect(wrongAudience.details).toMatch(/audience/)

    const madeUp = await connect(xdsAddress, "a", "team", { token: "eyJhbGciOiJub25lIn0.e30.x" }).closed()
    expect(madeUp.code).toBe(grpc.status.UNAUTHENTICATED)
    expect(refusalLogged("(UNAUTHENTICATED): no bearer token")).toBe(true)

    const metrics = await (await fetch(`${adminUrl}/metrics`)).text()
    expect(metrics).toMatch(/agentplane_xds_refused_streams_total\{code="UNAUTHENTICATED"\} 3/)
    expect(metrics).toMatch(/agentplane_xds_refused_streams_total\{code="PERMISSION_DENIED"\} 2/)
  })

  it("serves B to B's own token on the same server", async () => {
    await served(connect(xdsAddress, "b", "team", { token: await serviceAccountToken(kube, "team", "b") }), "bind/8080/team/b")
  })

  it("refuses a stream without a token before reading its node: nothing of a 10 MB node id is logged", async () => {
    const before = logs.length
    const huge = connect(xdsAddress, "a", "team", { nodeId: "q".repeat(10 * 1024 * 1024) })
    const status = await huge.closed()
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED)
    expect(status.details).toContain("no bearer token")
    const lines = logs.slice(before)
    expect(lines.some((line) => line.includes("refused xDS stream from") && line.includes("(UNAUTHENTICATED): no bearer token"))).toBe(true)
    expect(lines.some((line) => line.includes("qqqq"))).toBe(false)
    expect(lines.join("").length).toBeLessThan(16 * 1024)
  })
})

describe("xDS stream lifetime in Kubernetes mode", () => {
  let short: KubeAgentplane | undefined
  const shortLogs: Array<string> = []

  beforeAll(async () => {
    await createGateway("team", "c")
    short = await startKubeAgentplane(cluster, {
      identity: "auth-lifetime",
      logger: Logger.make((options) => void shortLogs.push(String(options.message))),
      // Longer than the API server's 10 s token cache, so that a revocation shows before the age does.
      xdsStreamLimits: { credentialRecheckMs: 500, maxStreamAgeMs: 16_000, maxStreamAgeJitter: 0 }
    })
    await eventually(async () => {
      const dump = (await (await fetch(`${short!.debugUrl}/debug/config_dump`)).json()) as { gateways: Array<unknown> }
      return dump.gateways.length === 4 ? true : undefined
    }, "four programmed gateways")
  }, 60_000)

  afterAll(() => short?.runtime.dispose(), 30_000)

  it("closes a stream at a credential check once its ServiceAccount is deleted", async () => {
    const token = await serviceAccountToken(kube, "team", "c")
    const proxy = connect(short!.xdsAddress, "c", "team", { token })
    await served(proxy, "bind/8080/team/c")
    const deleted = Date.now()
    await kube.must("DELETE", "/api/v1/namespaces/team/serviceaccounts/c")
    // The API server itself trusts a token it accepted for 10 s more (its token cache).
    const status = await proxy.closed(14_000)
    console.log(`revoked token: stream closed ${Date.now() - deleted} ms after its ServiceAccount was deleted (checks every 500 ms)`)
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED)
    expect(status.details).toMatch(/^the stream's token is no longer accepted: the token was refused/)
    expect(shortLogs.some((line) => line.includes("for gateway team/c (UNAUTHENTICATED): the stream's token is no longer accepted"))).toBe(true)
  })

  it("closes a served stream at its maximum age with UNAVAILABLE, so that the proxy reconnects", { timeout: 60_000 }, async () => {
    const proxy = connect(short!.xdsAddress, "a", "team", { token: await serviceAccountToken(kube, "team", "a") })
    await served(proxy, "bind/8080/team/a")
    const opened = Date.now()
    const status = await proxy.closed(20_000)
    const age = Date.now() - opened
    expect(status.code).toBe(grpc.status.UNAVAILABLE)
    expect(status.details).toBe("the stream reached its maximum age (16 s); reconnect, resuming with initial_resource_versions")
    expect(age).toBeLessThan(16_000 + 2_000)
    // Resuming is cheap: a proxy that reconnects with what it holds gets nothing new.
    const again = connect(short!.xdsAddress, "a", "team", {
      token: await serviceAccountToken(kube, "team", "a"),
      initialVersions: Object.fromEntries(proxy.resourceHoldings())
    })
    await again.until(() => again.responses.length >= 2, "the answers to the reconnected proxy's subscriptions")
    expect(again.responses.flatMap((r) => r.resources)).toEqual([])
  })

  it("limits token reviews per peer address, and still serves a token it already knows", async () => {
    const good = await serviceAccountToken(kube, "team", "b")
    await served(connect(short!.xdsAddress, "b", "team", { token: good }), "bind/8080/team/b")
    const flood = Array.from({ length: 30 }, (_, i) => connect(short!.xdsAddress, "b", "team", { token: `made-up-${i}` }))
    const statuses = await Promise.all(flood.map((proxy) => proxy.closed()))
    const codes = statuses.map((status) => grpc.status[status.code])
    expect(codes.filter((code) => code === "RESOURCE_EXHAUSTED").length).toBeGreaterThanOrEqual(15)
    expect(statuses.find((status) => status.code === grpc.status.RESOURCE_EXHAUSTED)!.details).toContain("too many token reviews for streams from 127.0.0.1")
    await served(connect(short!.xdsAddress, "b", "team", { token: good }), "bind/8080/team/b")
  })
})

describe("file mode", () => {
  let fileRuntime: ManagedRuntime.ManagedRuntime<XdsServer, unknown>
  let tlsRuntime: ManagedRuntime.ManagedRuntime<XdsServer, unknown>
  let pkiDir: string
  let pki: Pki

  beforeAll(async () => {
    pkiDir = mkdtempSync(join(tmpdir(), "agentplane-xds-tls-"))
    pki = await writePki(pkiDir)
    const options = { ...defaultTranslateOptions, inputs: [directoryInput("manifests/examples")], xdsAddress: "127.0.0.1:0", adminAddress: "127.0.0.1:0" }
    fileRuntime = ManagedRuntime.make(serveLayer(options))
    tlsRuntime = ManagedRuntime.make(serveLayer({ ...options, xdsTls: { certFile: pki.certFile, keyFile: pki.keyFile } }))
  })

  afterAll(async () => {
    await fileRuntime?.dispose()
    await tlsRuntime?.dispose()
    rmSync(pkiDir, { recursive: true, force: true })
  })

  const portOf = (runtime: ManagedRuntime.ManagedRuntime<XdsServer, unknown>) =>
    runtime.runPromise(
      Effect.gen(function* () {
        return (yield* XdsServer).port
      })
    )

  it("still serves local proxies without a token", async () => {
    await served(connect(`127.0.0.1:${await portOf(fileRuntime)}`, "mcp-gateway", "default"), "bind/8080/default/mcp-gateway")
  })

  it("serves over TLS with a certificate from files, and refuses plaintext there", async () => {
    const address = `127.0.0.1:${await portOf(tlsRuntime)}`
    const credentials = grpc.credentials.createSsl(readFileSync(pki.caFile))
    // The certificate also names localhost: a DNS name to verify (TLS forbids IP addresses as SNI).
    const channelOptions = { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": "localhost" }
    await served(connect(address, "mcp-gateway", "default", { credentials, channelOptions }), "bind/8080/default/mcp-gateway")
    const plaintext = connect(address, "mcp-gateway", "default", { channelOptions: { "grpc.initial_reconnect_backoff_ms": 100 } })
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(plaintext.resourceHoldings().size).toBe(0)
  })

  it("refuses to serve files on a non-loopback address unless told to, and then warns", async () => {
    const serve = (...args: Array<string>) =>
      spawn(
        process.execPath,
        ["src/cli.ts", "serve", "--from", "manifests/examples", "--admin-address", "127.0.0.1:0", "--debug-address", "127.0.0.1:0", ...args],
        {
          stdio: ["ignore", "pipe", "pipe"]
        }
      )
    const refused = serve("--xds-address", "0.0.0.0:0")
    let refusal = ""
    refused.stderr.on("data", (chunk) => (refusal += chunk))
    const code = await new Promise<number | null>((resolve) => refused.on("exit", resolve))
    expect(code).toBe(2)
    expect(refusal).toBe(
      "agentplane: --xds-address 0.0.0.0:0 is not a loopback address, and file mode does not authenticate xDS clients (any client that reaches it can read every Gateway's configuration); give --xds-allow-unauthenticated to serve it anyway on a trusted network, or a loopback address such as 127.0.0.1:9978\n"
    )

    const allowed = serve("--xds-address", "0.0.0.0:0", "--xds-allow-unauthenticated", "--log-format", "json")
    let stderr = ""
    allowed.stderr.on("data", (chunk) => (stderr += chunk))
    try {
      const deadline = Date.now() + 20_000
      while (!stderr.includes("xDS server listening") && Date.now() < deadline && allowed.exitCode === null) await new Promise((r) => setTimeout(r, 100))
      expect(stderr).toContain("xDS server listening")
      const warning = stderr.split("\n").find((line) => line.includes("--xds-allow-unauthenticated"))
      expect(JSON.parse(warning!)).toMatchObject({
        level: "WARN",
        message:
          "xDS on 0.0.0.0:0 is not authenticated (--xds-allow-unauthenticated): any client that reaches it can read every Gateway's configuration by naming the Gateway in its node metadata"
      })
    } finally {
      allowed.kill("SIGTERM")
    }
    // Loopback needs no flag, and a cluster needs none either.
    expect(spawnSync(process.execPath, ["src/cli.ts", "serve", "--kube", "--xds-allow-unauthenticated"], { encoding: "utf8" }).stderr).toBe(
      "agentplane: --xds-allow-unauthenticated is for serving manifests: in a cluster every xDS stream is authenticated\n"
    )
  })

  it("refuses to start with a certificate that does not match its key", async () => {
    const mismatched = ManagedRuntime.make(
      serveLayer({
        ...defaultTranslateOptions,
        inputs: [directoryInput("manifests/examples")],
        xdsAddress: "127.0.0.1:0",
        adminAddress: "127.0.0.1:0",
        xdsTls: { certFile: pki.certFile, keyFile: pki.serviceAccountKeyFile }
      })
    )
    await expect(portOf(mismatched)).rejects.toThrow(/cannot use .* as the xDS TLS certificate and key/)
    await mismatched.dispose()
  })
})
