// Managed proxies against a real API server: a Gateway with managed
// parameters gets its ServiceAccount, ConfigMap, Secret, Deployment and
// Service (asserted on what the server stored), follows parameter changes,
// and loses them when it becomes self-managed or is deleted. The harness has
// no controller-manager: Deployment availability is simulated through the
// status subresource, and nothing is garbage-collected but by agentplane.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeObject } from "../../src/api/objects.ts"
import type { Gateway } from "../../src/api/gatewayApi.ts"
import { renderManagedProxy } from "../../src/kube/managedObjects.ts"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { condition, eventually, installOurCrds, type Kube, kubeClient, serviceAccountToken } from "../support/kube.ts"
import { type KubeAgentplane, startKubeAgentplane, tearDown } from "../support/kubeAgentplane.ts"
import { TestProxy } from "../support/xdsClient.ts"

const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"
const PARAMETERS = "/apis/gateway.kgateway.dev/v1alpha1"
const NS = "team"
const XDS_SERVICE = "agentplane.agentplane-system.svc:9978"

let cluster: Cluster
let kube: Kube
let agentplane: KubeAgentplane | undefined
let xdsAddress: string
const proxies: Array<TestProxy> = []

const core = (kind: string, name: string) => `/api/v1/namespaces/${NS}/${kind}/${name}`
const deploymentPath = (name: string) => `/apis/apps/v1/namespaces/${NS}/deployments/${name}`
const managedPaths = (name: string) => [
  core("serviceaccounts", name),
  core("configmaps", name),
  core("secrets", `${name}-session-key`),
  core("services", name),
  deploymentPath(name)
]
const read = async (path: string) => {
  const response = await kube.call("GET", path)
  return response.status === 200 ? response.body : undefined
}
const gateway = (name: string) => kube.must("GET", `${GATEWAYS}/namespaces/${NS}/gateways/${name}`)
const containerOf = (deployment: any) => deployment.spec.template.spec.containers[0]
const envOf = (deployment: any): Record<string, any> => Object.fromEntries(containerOf(deployment).env.map((e: any) => [e.name, e.value ?? e.valueFrom]))
const mergePatch = (path: string, body: unknown) => kube.must("PATCH", path, body, "application/merge-patch+json")

const params = (name: string, namespace: string, spec: object) =>
  kube.must("POST", `${PARAMETERS}/namespaces/${namespace}/gatewayparameters`, {
    apiVersion: "gateway.kgateway.dev/v1alpha1",
    kind: "GatewayParameters",
    metadata: { name },
    spec
  })

const createGateway = (name: string, parameters: string) =>
  kube.must("POST", `${GATEWAYS}/namespaces/${NS}/gateways`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name },
    spec: {
      gatewayClassName: "managed",
      infrastructure: {
        labels: { cost: "ai" },
        parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: parameters }
      },
      listeners: [
        { name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" },
        { name: "agents", port: 9090, protocol: "kgateway.dev/a2a" }
      ]
    }
  })

/** What the Deployment controller would write once the pods are ready. */
const makeAvailable = async (name: string, replicas: number) => {
  const live = await kube.must("GET", deploymentPath(name))
  await mergePatch(`${deploymentPath(name)}/status`, {
    status: {
      observedGeneration: live.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "test" }]
    }
  })
}

beforeAll(async () => {
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await installOurCrds(kube)
  for (const name of [NS, "infra"]) await kube.must("POST", "/api/v1/namespaces", { metadata: { name } })
  agentplane = await startKubeAgentplane(cluster, { identity: "test-instance", managedXdsAddress: XDS_SERVICE })
  xdsAddress = agentplane.xdsAddress

  // The class names the image; each Gateway's own parameters add to it.
  await params("class", "infra", { kube: { agentgateway: { image: { repository: "registry.example/agentgateway", tag: "v1.4.0" }, replicas: 1 } } })
  await params("tools", NS, {
    kube: {
      agentgateway: {
        replicas: 2,
        logLevel: "debug",
        env: [
          { name: "LOCALITY", value: "eu/west" },
          { name: "EXTRA", value: "1" }
        ],
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        nodeSelector: { "kubernetes.io/os": "linux" },
        tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }],
        service: { annotations: { "example.com/lb": "internal" } }
      }
    }
  })
  await kube.must("POST", `${GATEWAYS}/gatewayclasses`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "managed" },
    spec: {
      controllerName: "kgateway.dev/kgateway",
      parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "class", namespace: "infra" }
    }
  })
}, 45 * 60_000)

afterAll(() => tearDown(proxies, agentplane, cluster), 60_000)

describe("managed proxies", () => {
  it("deploys a ServiceAccount, ConfigMap, session Secret, Deployment and Service with the contract's fields", async () => {
    const created = await createGateway("tools", "tools")
    const [serviceAccount, configMap, secret, service, deployment] = await eventually(async () => {
      const all = await Promise.all(managedPaths("tools").map(read))
      return all.every((o) => o !== undefined) ? all : undefined
    }, "the five managed objects")

    for (const object of [serviceAccount, configMap, secret, service, deployment]) {
      expect(object.metadata.ownerReferences).toEqual([
        { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", name: "tools", uid: created.metadata.uid, controller: true }
      ])
      expect(object.metadata.labels).toMatchObject({ cost: "ai", "app.kubernetes.io/managed-by": "agentplane" })
    }
    for (const object of [serviceAccount, configMap, service, deployment]) {
      expect(object.metadata.managedFields.map((f: any) => [f.manager, f.operation])).toContainEqual(["agentplane", "Apply"])
    }
    expect(serviceAccount.automountServiceAccountToken).toBe(false)
    expect(configMap.data["config.yaml"]).toContain("config: {}")
    expect(Buffer.from(secret.data.SESSION_KEY, "base64").toString()).toMatch(/^[0-9a-f]{64}$/)

    const pod = deployment.spec.template.spec
    const container = containerOf(deployment)
    expect(deployment.spec.replicas).toBe(2)
    expect(container.image).toBe("registry.example/agentgateway:v1.4.0")
    expect(container.args).toEqual(["-f", "/config/config.yaml"])
    expect(envOf(deployment)).toMatchObject({
      XDS_ADDRESS: `http://${XDS_SERVICE}`,
      XDS_AUTH_TOKEN: "/var/run/secrets/xds-tokens/xds-token",
      GATEWAY: "tools",
      NAMESPACE: NS,
      LOCALITY: "eu/west",
      RUST_LOG: "debug",
      EXTRA: "1",
      SESSION_KEY: { secretKeyRef: { name: "tools-session-key", key: "SESSION_KEY" } }
    })
    expect(pod.serviceAccountName).toBe("tools")
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({
        name: "xds-token",
        projected: expect.objectContaining({ sources: [{ serviceAccountToken: { audience: "agentgateway", expirationSeconds: 3600, path: "xds-token" } }] })
      })
    )
    expect(container.volumeMounts).toContainEqual({ name: "xds-token", mountPath: "/var/run/secrets/xds-tokens", readOnly: true })
    expect(container.readinessProbe.httpGet).toMatchObject({ path: "/healthz/ready", port: 15021 })
    expect(container.startupProbe.httpGet).toMatchObject({ path: "/healthz/ready", port: 15021 })
    expect(container.ports.map((p: any) => [p.name, p.containerPort])).toEqual([
      ["mcp", 8080],
      ["agents", 9090],
      ["metrics", 15020],
      ["readiness", 15021]
    ])
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "15020",
      "prometheus.io/path": "/metrics",
      "agentplane.dev/config-checksum": expect.stringMatching(/^[0-9a-f]{64}$/)
    })
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
    expect(container.resources).toEqual({ requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } })
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" })
    expect(pod.tolerations).toEqual([{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }])
    expect(deployment.metadata.annotations["agentplane.dev/session-key-secret-uid"]).toBe(secret.metadata.uid)

    expect(service.spec.type).toBe("ClusterIP")
    expect(service.spec.ports.map((p: any) => [p.name, p.port, p.targetPort])).toEqual([
      ["mcp", 8080, 8080],
      ["agents", 9090, 9090]
    ])
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels)
    expect(service.metadata.annotations).toEqual({ "example.com/lb": "internal" })
  })

  it("reports the Service's address, and Programmed only once the Deployment is available and a proxy acknowledged", async () => {
    const clusterIP = (await kube.must("GET", core("services", "tools"))).spec.clusterIP
    const pending = await eventually(async () => {
      const read = await gateway("tools")
      return read.status?.addresses?.[0]?.value === clusterIP && condition(read, "Programmed")?.message.includes("no available replica") ? read : undefined
    }, "the Gateway's address, and Programmed waiting for the Deployment")
    expect(pending.status.addresses).toEqual([{ type: "IPAddress", value: clusterIP }])
    expect(condition(pending, "Programmed")).toMatchObject({ status: "False", reason: "Pending" })
    expect(condition(pending, "Programmed").message).toContain("no available replica")

    // The proxy of the managed Gateway connects with its ServiceAccount's token, as its pod would.
    const proxy = new TestProxy({ address: xdsAddress, gateway: "tools", namespace: NS, token: await serviceAccountToken(kube, NS, "tools") })
    proxies.push(proxy)
    await proxy.until(() => proxy.resourceHoldings().has("bind/8080/team/tools"), "the Gateway's binds")
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(condition(await gateway("tools"), "Programmed").status).toBe("False")

    await makeAvailable("tools", 2)
    const programmed = await eventually(async () => {
      const read = await gateway("tools")
      return condition(read, "Programmed")?.status === "True" ? read : undefined
    }, "Programmed=True")
    expect(condition(programmed, "Programmed").message).toContain("2 of 2 replica(s) available")
  })

  it("follows changes of replicas, image and configuration; the session key stays", async () => {
    const before = await kube.must("GET", deploymentPath("tools"))
    const secretBefore = await kube.must("GET", core("secrets", "tools-session-key"))
    await mergePatch(`${PARAMETERS}/namespaces/${NS}/gatewayparameters/tools`, { spec: { kube: { agentgateway: { replicas: 3 } } } })
    await mergePatch(`${PARAMETERS}/namespaces/infra/gatewayparameters/class`, { spec: { kube: { agentgateway: { image: { tag: "v1.4.1" } } } } })
    const after = await eventually(async () => {
      const read = await kube.must("GET", deploymentPath("tools"))
      return read.spec.replicas === 3 && containerOf(read).image === "registry.example/agentgateway:v1.4.1" ? read : undefined
    }, "the Deployment with 3 replicas and the new image")
    const checksum = (d: any) => d.spec.template.metadata.annotations["agentplane.dev/config-checksum"]
    expect(checksum(after)).toBe(checksum(before))

    await mergePatch(`${PARAMETERS}/namespaces/${NS}/gatewayparameters/tools`, {
      spec: { kube: { agentgateway: { tracing: { otlpEndpoint: "http://otel.observability:4317" } } } }
    })
    const retraced = await eventually(async () => {
      const read = await kube.must("GET", deploymentPath("tools"))
      return checksum(read) !== checksum(before) ? read : undefined
    }, "a new config checksum")
    expect((await kube.must("GET", core("configmaps", "tools"))).data["config.yaml"]).toContain("otlpEndpoint: http://otel.observability:4317")
    expect(retraced.spec.replicas).toBe(3)
    expect((await kube.must("GET", core("secrets", "tools-session-key"))).data).toEqual(secretBefore.data)
    // Programmed follows the Deployment: more replicas wanted than are available is still available.
    await makeAvailable("tools", 3)
  })

  it("is refused by the API server when the parameters are invalid, as agentplane would refuse them", async () => {
    const reserved = await kube.call(
      "PATCH",
      `${PARAMETERS}/namespaces/${NS}/gatewayparameters/tools`,
      {
        spec: { kube: { agentgateway: { env: [{ name: "GATEWAY", value: "someone-else" }] } } }
      },
      "application/merge-patch+json"
    )
    expect(reserved.status).toBe(422)
    expect(reserved.body.message).toContain("are set by agentplane")
    const quantity = await kube.call(
      "PATCH",
      `${PARAMETERS}/namespaces/${NS}/gatewayparameters/tools`,
      {
        spec: { kube: { agentgateway: { resources: { limits: { memory: "lots" } } } } }
      },
      "application/merge-patch+json"
    )
    expect(quantity.status).toBe(422)
  })

  it("renders Deployments the API server validates, also with every option and TLS, and pods the restricted Pod Security Standard admits", async () => {
    await kube.must("POST", "/api/v1/namespaces", { metadata: { name: "restricted", labels: { "pod-security.kubernetes.io/enforce": "restricted" } } })
    const decoded = decodeObject({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "edge", namespace: "restricted", uid: "0b6b3b8e-0000-4000-8000-000000000000" },
      spec: { gatewayClassName: "managed", listeners: [{ name: "http", port: 80, protocol: "kgateway.dev/mcp" }] }
    })
    if (decoded._tag !== "Decoded") throw new Error(JSON.stringify(decoded))
    const objects = renderManagedProxy(
      {
        key: "restricted/edge",
        gateway: decoded.object as Gateway,
        settings: {
          image: { pullPolicy: "Always" },
          replicas: 0,
          resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: 2 } },
          service: { type: "LoadBalancer" },
          tracing: { otlpEndpoint: "http://otel:4318", otlpProtocol: "http" }
        }
      },
      { address: XDS_SERVICE, tls: true, rootCa: "-----BEGIN CERTIFICATE-----\n" },
      "uid"
    )
    for (const object of Object.values(objects)) {
      const path =
        object.kind === "Deployment"
          ? `/apis/apps/v1/namespaces/restricted/deployments/edge`
          : `/api/v1/namespaces/restricted/${object.kind.toLowerCase()}s/edge`
      const applied = await kube.call(
        "PATCH",
        `${path}?fieldManager=agentplane&force=true&fieldValidation=Strict&dryRun=All`,
        object,
        "application/apply-patch+yaml"
      )
      expect(applied.status, `${object.kind}: ${JSON.stringify(applied.body)}`).toBeLessThan(300)
    }
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "edge-check", namespace: "restricted" },
      spec: (objects.deployment as any).spec.template.spec
    }
    const admitted = await kube.call("POST", "/api/v1/namespaces/restricted/pods?dryRun=All", pod)
    expect(admitted.status, JSON.stringify(admitted.body)).toBe(201)
  })

  it("does not take over someone else's object of the same name, and says so", async () => {
    await kube.must("POST", `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "taken" }, data: { mine: "yes" } })
    await createGateway("taken", "tools")
    const refused = await eventually(async () => {
      const read = await gateway("taken")
      return condition(read, "Programmed")?.reason === "Invalid" ? read : undefined
    }, "Programmed=False naming the conflict")
    expect(condition(refused, "Programmed").message).toContain(`ConfigMap ${NS}/taken already exists and is not managed by agentplane`)
    expect((await kube.must("GET", core("configmaps", "taken"))).data).toEqual({ mine: "yes" })
    expect(await read(deploymentPath("taken"))).toBeUndefined()
    const event = await eventually(async () => {
      const list = await kube.must("GET", `/apis/events.k8s.io/v1/namespaces/${NS}/events`)
      return list.items.find((e: any) => e.reason === "ManagedObjectConflict" && e.regarding.name === "taken")
    }, "the ManagedObjectConflict Event")
    expect(event.type).toBe("Warning")
    await kube.must("DELETE", `${GATEWAYS}/namespaces/${NS}/gateways/taken`)
  })

  it("removes everything when the Gateway turns self-managed, and deploys again when it turns back", async () => {
    await mergePatch(`${PARAMETERS}/namespaces/${NS}/gatewayparameters/tools`, { spec: { kube: null, selfManaged: {} } })
    await eventually(async () => {
      const all = await Promise.all(managedPaths("tools").map(read))
      return all.every((o) => o === undefined) ? true : undefined
    }, "all managed objects removed")
    const selfManaged = await eventually(async () => {
      const read = await gateway("tools")
      return read.status?.addresses === undefined ? read : undefined
    }, "the addresses removed from status")
    expect(condition(selfManaged, "Accepted").status).toBe("True")

    await mergePatch(`${PARAMETERS}/namespaces/${NS}/gatewayparameters/tools`, { spec: { selfManaged: null, kube: { agentgateway: { replicas: 1 } } } })
    await eventually(async () => {
      const all = await Promise.all(managedPaths("tools").map(read))
      return all.every((o) => o !== undefined) ? true : undefined
    }, "the managed objects back")
  })

  it("removes everything when the Gateway is deleted, and leaves what is not its own", async () => {
    await kube.must("POST", `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "unrelated" }, data: { keep: "me" } })
    await kube.must("DELETE", `${GATEWAYS}/namespaces/${NS}/gateways/tools`)
    await eventually(async () => {
      const all = await Promise.all(managedPaths("tools").map(read))
      return all.every((o) => o === undefined) ? true : undefined
    }, "all managed objects removed")
    expect(await read(core("configmaps", "unrelated"))).toBeDefined()
    // The conflicting Gateway never got objects; its stranger's ConfigMap is still there.
    expect((await kube.must("GET", core("configmaps", "taken"))).data).toEqual({ mine: "yes" })
  })
})
