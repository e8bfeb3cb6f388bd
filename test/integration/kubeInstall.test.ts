// agentplane as installed: running under the ServiceAccount and RBAC of
// manifests/install (a real token from the TokenRequest API), and handing
// leadership over when the leader is killed.
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseAllDocuments } from "yaml"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { condition, eventually, installOurCrds, type Kube, kubeClient, serviceAccountToken } from "../support/kube.ts"
import { TestProxy } from "../support/xdsClient.ts"
import { ANY_PORTS } from "../support/serveProcess.ts"

const NAMESPACE = "agentplane-system"
const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/agentplane`
const LEASE_SECONDS = 3
const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"

let cluster: Cluster
let admin: Kube
let dir: string
let kubeconfig: string
const children: Array<{ name: string; process: ChildProcess; log: () => string }> = []

const pathOf = (object: any): string => {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion]
  const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`
  const plural = `${object.kind.toLowerCase()}s`
  return object.metadata.namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${object.metadata.namespace}/${plural}`
}

const applyFile = async (file: string) => {
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    const object = document.toJS()
    if (object !== null) await admin.must("POST", pathOf(object), object)
  }
}

const startInstance = (name: string) => {
  let output = ""
  const child = spawn(
    process.execPath,
    [
      "src/cli.ts",
      "serve",
      "--kube",
      "--kubeconfig",
      kubeconfig,
      "--leader-election-namespace",
      NAMESPACE,
      "--lease-duration",
      String(LEASE_SECONDS),
      ...ANY_PORTS
    ],
    { env: { ...process.env, POD_NAME: name, POD_NAMESPACE: NAMESPACE }, stdio: ["ignore", "pipe", "pipe"] }
  )
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  children.push({ name, process: child, log: () => output })
  return { process: child, log: () => output }
}

const holder = async () => (await admin.call("GET", LEASE)).body?.spec?.holderIdentity

beforeAll(async () => {
  cluster = await startCluster()
  admin = kubeClient(cluster)
  await installOurCrds(admin)
  for (const file of ["namespace.yaml", "serviceaccount.yaml", "clusterrole.yaml", "leader-election.yaml", "jwks-store.yaml"]) {
    await applyFile(`manifests/install/${file}`)
  }
  const request = await admin.must("POST", `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/agentplane/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 }
  })
  dir = mkdtempSync(join(tmpdir(), "agentplane-install-"))
  kubeconfig = join(dir, "kubeconfig")
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "harness", cluster: { server: cluster.server, "certificate-authority": cluster.caFile } }],
      users: [{ name: "agentplane", user: { token: request.status.token } }],
      contexts: [{ name: "agentplane", context: { cluster: "harness", user: "agentplane" } }],
      "current-context": "agentplane"
    })
  )
}, 45 * 60_000)

afterAll(async () => {
  for (const child of children) child.process.kill("SIGKILL")
  await cluster?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
}, 60_000)

describe("agentplane under its installed RBAC", () => {
  it("watches, writes status and leads with nothing but the ClusterRole and the lease Role", async () => {
    const first = startInstance("instance-a")
    await eventually(async () => ((await holder()) === "instance-a" ? true : undefined), "instance-a holding the Lease")
    await admin.must("POST", `${GATEWAYS}/gatewayclasses`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "mcp" },
      spec: { controllerName: "kgateway.dev/kgateway" }
    })
    await admin.must("POST", "/api/v1/namespaces", { metadata: { name: "tools" } })
    await admin.must("POST", `${GATEWAYS}/namespaces/tools/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "tools" },
      spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
    })
    await eventually(async () => {
      const read = await admin.must("GET", `${GATEWAYS}/namespaces/tools/gateways/tools`)
      return condition(read, "Accepted")?.status === "True" ? read : undefined
    }, "the Gateway's status, written with the service account's token")
    expect(first.log()).not.toMatch(/forbidden/i)
  })

  it("deploys, authenticates and removes managed proxies with nothing but the installed RBAC", async () => {
    const leader = children.find((c) => c.name === "instance-a")!
    await admin.must("POST", "/apis/gateway.kgateway.dev/v1alpha1/namespaces/tools/gatewayparameters", {
      apiVersion: "gateway.kgateway.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "managed" },
      spec: { kube: { agentgateway: { replicas: 1 } } }
    })
    await admin.must("POST", `${GATEWAYS}/namespaces/tools/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "agents" },
      spec: {
        gatewayClassName: "mcp",
        infrastructure: { parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "managed" } },
        listeners: [{ name: "a2a", port: 8080, protocol: "kgateway.dev/a2a" }]
      }
    })
    const paths = [
      "/api/v1/namespaces/tools/serviceaccounts/agents",
      "/api/v1/namespaces/tools/configmaps/agents",
      "/api/v1/namespaces/tools/secrets/agents-session-key",
      "/api/v1/namespaces/tools/services/agents",
      "/apis/apps/v1/namespaces/tools/deployments/agents"
    ]
    await eventually(async () => {
      const found = await Promise.all(paths.map(async (path) => (await admin.call("GET", path)).status === 200))
      return found.every(Boolean) ? true : undefined
    }, "the managed proxy's objects")
    expect((await admin.must("GET", "/apis/apps/v1/namespaces/tools/deployments/agents")).metadata.managedFields[0].manager).toBe("agentplane")

    // The proxy connects as its pod would, with a token of the ServiceAccount agentplane created.
    const port = /xDS server listening on 127\.0\.0\.1:(\d+)/.exec(leader.log())?.[1]
    expect(port).toBeDefined()
    const proxy = new TestProxy({
      address: `127.0.0.1:${port}`,
      gateway: "agents",
      namespace: "tools",
      token: await serviceAccountToken(admin, "tools", "agents")
    })
    try {
      await proxy.until(() => proxy.resourceHoldings().has("bind/8080/tools/agents"), "the managed Gateway's configuration")
    } finally {
      proxy.close()
    }

    await admin.must("DELETE", `${GATEWAYS}/namespaces/tools/gateways/agents`)
    await eventually(async () => {
      const found = await Promise.all(paths.map(async (path) => (await admin.call("GET", path)).status === 200))
      return found.some(Boolean) ? undefined : true
    }, "the managed proxy's objects removed")
    expect(leader.log()).not.toMatch(/forbidden/i)
  })

  it("hands leadership over within the lease duration when the leader is killed", async () => {
    const second = startInstance("instance-b")
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_SECONDS * 1000))
    expect(await holder()).toBe("instance-a")

    children.find((c) => c.name === "instance-a")!.process.kill("SIGKILL")
    const killedAt = Date.now()
    await eventually(async () => ((await holder()) === "instance-b" ? true : undefined), "instance-b taking the Lease", 20_000)
    const handover = (Date.now() - killedAt) / 1000
    // The follower waits one lease duration from its last sighting of a renewal, plus one retry period.
    expect(handover).toBeLessThan(LEASE_SECONDS * 1.5 + 1)

    // The new leader writes status.
    await admin.must("POST", "/api/v1/namespaces/tools/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "everything" },
      spec: { ports: [{ port: 3001, appProtocol: "kgateway.dev/mcp" }] }
    })
    await eventually(async () => {
      const read = await admin.must("GET", `${GATEWAYS}/namespaces/tools/gateways/tools`)
      return read.status?.listeners?.[0]?.attachedRoutes === 1 ? true : undefined
    }, "the status written by the new leader")
    expect(second.log()).not.toMatch(/forbidden/i)

    // A clean shutdown releases the Lease at once.
    const exited = new Promise((resolve) => second.process.on("exit", resolve))
    second.process.kill("SIGTERM")
    await exited
    expect(await holder()).toBe("")
  }, 60_000)
})
