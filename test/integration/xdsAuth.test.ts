// xDS authentication with real tokens: in Kubernetes mode every stream must
// present a ServiceAccount token for audience agentgateway, reviewed by the
// harness API server, and reads only its own Gateway. File mode stays open on
// loopback, and serves TLS when given a certificate.
import * as grpc from "@grpc/grpc-js"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Logger, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { serveLayer } from "../../src/main.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { XdsServer } from "../../src/xds/server.ts"
import { writePki, type Pki } from "../harness/kube/certs.ts"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { eventually, installCrd, kubeClient, readYaml, serviceAccountToken, type Kube } from "../support/kube.ts"
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
  await installCrd(kube, readYaml("manifests/crds/gateway.kgateway.dev_gatewayparameters.yaml"))
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
    const dump = await (await fetch(`${debugUrl}/debug/config_dump`)).json() as { gateways: Array<unknown> }
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
})

describe("file mode", () => {
  let fileRuntime: ManagedRuntime.ManagedRuntime<XdsServer, unknown>
  let tlsRuntime: ManagedRuntime.ManagedRuntime<XdsServer, unknown>
  let pkiDir: string
  let pki: Pki

  beforeAll(async () => {
    pkiDir = mkdtempSync(join(tmpdir(), "agentplane-xds-tls-"))
    pki = await writePki(pkiDir)
    const options = { ...defaultTranslateOptions, from: "manifests/examples", xdsAddress: "127.0.0.1:0", adminAddress: "127.0.0.1:0" }
    fileRuntime = ManagedRuntime.make(serveLayer(options))
    tlsRuntime = ManagedRuntime.make(serveLayer({ ...options, xdsTls: { certFile: pki.certFile, keyFile: pki.keyFile } }))
  })

  afterAll(async () => {
    await fileRuntime?.dispose()
    await tlsRuntime?.dispose()
    rmSync(pkiDir, { recursive: true, force: true })
  })

  const portOf = (runtime: ManagedRuntime.ManagedRuntime<XdsServer, unknown>) =>
    runtime.runPromise(Effect.gen(function*() {
      return (yield* XdsServer).port
    }))

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

  it("refuses to start with a certificate that does not match its key", async () => {
    const mismatched = ManagedRuntime.make(serveLayer({
      ...defaultTranslateOptions,
      from: "manifests/examples",
      xdsAddress: "127.0.0.1:0",
      adminAddress: "127.0.0.1:0",
      xdsTls: { certFile: pki.certFile, keyFile: pki.serviceAccountKeyFile }
    }))
    await expect(portOf(mismatched)).rejects.toThrow(/cannot use .* as the xDS TLS certificate and key/)
    await mismatched.dispose()
  })
})
