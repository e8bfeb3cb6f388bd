// The kube harness itself: a real API server built from source, reachable with the generated
// kubeconfig through @kubernetes/client-node, with the Gateway API CRDs served.
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { versions } from "../harness/kube/build.ts"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { kubeRequest } from "../harness/kube/request.ts"

describe("kube test harness", () => {
  let cluster: Cluster
  let kubeConfig: KubeConfig
  const namespace = `harness-${Date.now().toString(36)}`

  // The first run builds kube-apiserver and etcd from source.
  beforeAll(async () => {
    cluster = await startCluster()
    kubeConfig = new KubeConfig()
    kubeConfig.loadFromFile(cluster.kubeconfigPath)
  }, 45 * 60_000)

  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  it("serves /version for the pinned release", async () => {
    const version = await kubeConfig.makeApiClient(VersionApi).getCode()
    expect(version.gitVersion).toBe(versions.kubernetes)
  })

  it("creates and reads back a Namespace with the admin token", async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api)
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { purpose: "harness-test" } } } })
    const read = await core.readNamespace({ name: namespace })
    expect(read.metadata?.labels?.["purpose"]).toBe("harness-test")
  })

  it("rejects a wrong token", async () => {
    const ca = await readFile(cluster.caFile, "utf8")
    const res = await kubeRequest({ server: cluster.server, ca, token: "not-the-token" }, "GET", "/api/v1/namespaces")
    expect(res.status).toBe(401)
  })

  it("has the Gateway API CRDs established", async () => {
    const apiextensions = kubeConfig.makeApiClient(ApiextensionsV1Api)
    const expected = ["gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"]
    for (const plural of expected) {
      const name = `${plural}.gateway.networking.k8s.io`
      expect(cluster.crds).toContain(name)
      const crd = await apiextensions.readCustomResourceDefinition({ name })
      const established = crd.status?.conditions?.find((c) => c.type === "Established")
      expect(established?.status, name).toBe("True")
    }
    // Served, not just registered: a GatewayClass can be stored and read back.
    const custom = kubeConfig.makeApiClient(CustomObjectsApi)
    const gatewayClass = { group: "gateway.networking.k8s.io", version: "v1", plural: "gatewayclasses" }
    const body = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: namespace },
      spec: { controllerName: "agentplane.dev/harness-test" }
    }
    await custom.createClusterCustomObject({ ...gatewayClass, body })
    const read = (await custom.getClusterCustomObject({ ...gatewayClass, name: namespace })) as typeof body
    expect(read.spec.controllerName).toBe("agentplane.dev/harness-test")
  })

  it("restarts kube-apiserver on the same address, keeping etcd's data", { timeout: 120_000 }, async () => {
    await cluster.restartApiServer()
    const core = kubeConfig.makeApiClient(CoreV1Api)
    const read = await core.readNamespace({ name: namespace })
    expect(read.metadata?.name).toBe(namespace)
    const version = await kubeConfig.makeApiClient(VersionApi).getCode()
    expect(version.gitVersion).toBe(versions.kubernetes)
  })

  it("stop() ends both servers and removes the data dir", { timeout: 60_000 }, async () => {
    const ca = await readFile(cluster.caFile, "utf8")
    await cluster.stop()
    if (process.env["AGENTPLANE_KUBE_KEEP"] !== "1") expect(existsSync(cluster.dataDir)).toBe(false)
    await expect(kubeRequest({ server: cluster.server, ca, token: cluster.token }, "GET", "/version")).rejects.toThrow(/ECONNREFUSED/)
  })
})
