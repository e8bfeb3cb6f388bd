// Managed proxies without a cluster: parameters merged field by field (inputs
// untouched), the rendered objects, which Gateways are managed, and the
// status they get from their Deployment and Service.
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import type { Gateway } from "../../src/api/gatewayApi.ts"
import type { AgentgatewaySettings } from "../../src/api/gatewayParameters.ts"
import { gatewayWithManagedProxy, serviceAddresses } from "../../src/kube/managedStatus.ts"
import { DEFAULT_IMAGE, desiredProxies, listenerPorts, type ManagedProxy, nameProblem, renderManagedProxy } from "../../src/kube/managedObjects.ts"
import { replacementPatch, mergeGatewayStatus } from "../../src/kube/statusMerge.ts"
import type { LiveDeployment } from "../../src/kube/managedDeployments.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { mergeAgentgateway, parametersOf, proxyMode } from "../../src/translate/parameters.ts"
import type { GatewayStatus, ObjectStatus } from "../../src/translate/status.ts"
import { translate } from "../../src/translate/translate.ts"
import { type World, worldFromObjects } from "../../src/world/world.ts"
import type { ManagedGateway } from "../../src/kube/deployer.ts"

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

const parameters = (name: string, namespace: string, spec: object) => ({
  apiVersion: "gateway.kgateway.dev/v1alpha1",
  kind: "GatewayParameters",
  metadata: { name, namespace },
  spec
})

const gatewayRaw = (name: string, extra: object = {}) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name, namespace: "team", uid: `uid-${name}`, generation: 2 },
  spec: {
    gatewayClassName: "managed",
    listeners: [
      { name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" },
      { name: "a2a", port: 80, protocol: "kgateway.dev/a2a" },
      { name: "more-mcp", port: 8080, protocol: "kgateway.dev/mcp", hostname: "b.example.com" },
      { name: "a-very-long-listener-name", port: 9000, protocol: "HTTP" }
    ],
    ...extra
  }
})

const classSettings = {
  image: { repository: "registry.example/agentgateway", tag: "v1.3.0" },
  replicas: 2,
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
  env: [
    { name: "A", value: "class" },
    { name: "B", value: "class" }
  ],
  nodeSelector: { "kubernetes.io/os": "linux", pool: "general" },
  tolerations: [{ key: "dedicated", operator: "Exists" }],
  service: { type: "ClusterIP", annotations: { team: "platform" } }
} as const

const gatewaySettings = {
  image: { tag: "v1.4.1" },
  resources: { limits: { memory: "1Gi", cpu: 2 } },
  logLevel: "debug",
  env: [
    { name: "B", value: "gateway" },
    { name: "LOCALITY", value: "eu/west" }
  ],
  nodeSelector: { pool: "ai" },
  service: { type: "LoadBalancer" },
  tracing: { otlpEndpoint: "http://otel.observability:4317" }
} as const

const world = worldFromObjects(
  [
    parameters("class", "infra", { kube: { agentgateway: classSettings } }),
    parameters("tuned", "team", { kube: { agentgateway: gatewaySettings } }),
    parameters("self", "team", { selfManaged: {} }),
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "managed" },
      spec: {
        controllerName: defaultTranslateOptions.controllerName,
        parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "class", namespace: "infra" }
      }
    },
    gatewayRaw("tools", {
      infrastructure: {
        labels: { cost: "ai", [`app.kubernetes.io/managed-by`]: "someone-else" },
        annotations: { owner: "team-a" },
        parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "tuned" }
      }
    }),
    gatewayRaw("plain"),
    gatewayRaw("mine", { infrastructure: { parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "self" } } }),
    gatewayRaw("9lives")
  ].map(decoded)
)

const gateway = (name: string) => world.gateways.get(`team/${name}`) as Gateway
const settingsOf = (name: string): AgentgatewaySettings => {
  const resolution = parametersOf(world, gateway(name))
  if (resolution._tag === "Invalid") throw new Error(resolution.message)
  const mode = proxyMode(resolution.layers)
  if (mode._tag !== "Managed") throw new Error("not managed")
  return mode.settings
}
const tools: ManagedProxy = { key: "team/tools", gateway: gateway("tools"), settings: settingsOf("tools") }
const xds = { address: "agentplane.agentplane-system.svc:9978", tls: false }

describe("parameters for managed proxies", () => {
  it("merge the Gateway's over the class's field by field", () => {
    expect(settingsOf("tools")).toEqual({
      image: { repository: "registry.example/agentgateway", tag: "v1.4.1" },
      replicas: 2,
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi", cpu: 2 } },
      logLevel: "debug",
      env: [
        { name: "A", value: "class" },
        { name: "B", value: "gateway" },
        { name: "LOCALITY", value: "eu/west" }
      ],
      nodeSelector: { "kubernetes.io/os": "linux", pool: "ai" },
      tolerations: [{ key: "dedicated", operator: "Exists" }],
      service: { type: "LoadBalancer", annotations: { team: "platform" } },
      tracing: { otlpEndpoint: "http://otel.observability:4317" }
    })
    expect(settingsOf("plain")).toEqual(classSettings)
  })

  it("never change their inputs", () => {
    const base = structuredClone(classSettings) as AgentgatewaySettings
    const over = structuredClone(gatewaySettings) as AgentgatewaySettings
    const [baseCopy, overCopy] = [structuredClone(base), structuredClone(over)]
    const merged = mergeAgentgateway(base, over)
    expect(base).toEqual(baseCopy)
    expect(over).toEqual(overCopy)
    expect(merged.env).not.toBe(base.env)
    // Decoded parameters are frozen by nobody; merging twice gives the same result.
    expect(mergeAgentgateway(base, over)).toEqual(merged)
  })

  it("merge any two layers without touching them: the top layer's set fields win, the rest come from below", () => {
    const map = fc.dictionary(fc.constantFrom("a", "b", "c"), fc.constantFrom("1", "2"), { maxKeys: 3 })
    const layer = fc.record(
      {
        image: fc.record({ repository: fc.constantFrom("r1", "r2"), tag: fc.constantFrom("t1", "t2") }, { requiredKeys: [] }),
        replicas: fc.nat(5),
        resources: fc.record({ requests: map, limits: map }, { requiredKeys: [] }),
        logLevel: fc.constantFrom("info", "debug"),
        env: fc.uniqueArray(fc.record({ name: fc.constantFrom("A", "B", "C"), value: fc.constantFrom("x", "y") }), { selector: (e) => e.name }),
        nodeSelector: map,
        tolerations: fc.array(fc.record({ key: fc.constantFrom("k1", "k2") }), { maxLength: 2 }),
        service: fc.record({ type: fc.constantFrom("ClusterIP" as const, "LoadBalancer" as const), annotations: map }, { requiredKeys: [] })
      },
      { requiredKeys: [] }
    )
    fc.assert(
      fc.property(layer, layer, (base, over) => {
        const [baseCopy, overCopy] = [structuredClone(base), structuredClone(over)]
        const merged = mergeAgentgateway(base, over)
        expect(base).toEqual(baseCopy)
        expect(over).toEqual(overCopy)
        for (const field of ["replicas", "logLevel", "tolerations"] as const) expect(merged[field]).toEqual(over[field] ?? base[field])
        expect(merged.image).toEqual(base.image === undefined && over.image === undefined ? undefined : { ...base.image, ...over.image })
        expect(merged.nodeSelector).toEqual(
          base.nodeSelector === undefined && over.nodeSelector === undefined ? undefined : { ...base.nodeSelector, ...over.nodeSelector }
        )
        const env = new Map([...(base.env ?? []), ...(over.env ?? [])].map((e) => [e.name, e.value]))
        expect(new Map((merged.env ?? []).map((e) => [e.name, e.value]))).toEqual(env)
        expect(merged.env?.length ?? 0).toBe(env.size)
        // Merging with nothing changes nothing.
        expect(mergeAgentgateway(base, {})).toEqual(base)
        expect(mergeAgentgateway({}, over)).toEqual(over)
      }),
      { numRuns: 200 }
    )
  })

  it("decide the mode by the last layer that says: a Gateway's selfManaged beats its class's kube", () => {
    const resolution = parametersOf(world, gateway("mine"))
    expect(resolution._tag === "Resolved" && proxyMode(resolution.layers)).toEqual({ _tag: "SelfManaged" })
  })

  it("are served, not refused, by the translator", () => {
    const status = translate(world, defaultTranslateOptions).statuses.find((s) => s.kind === "Gateway" && s.name === "tools")!
    expect((status.status as GatewayStatus).conditions.find((c) => c.type === "Accepted")).toMatchObject({ status: "True" })
  })

  it("refuse environment variables that carry the proxy's identity", () => {
    const outcome = decodeObject(parameters("bad", "team", { kube: { agentgateway: { env: [{ name: "GATEWAY", value: "other" }] } } }))
    expect(outcome._tag).toBe("Invalid")
    expect(outcome._tag === "Invalid" && outcome.issues[0]).toMatchObject({ field: "spec.kube.agentgateway.env[0].name" })
  })
})

describe("which Gateways get a managed proxy", () => {
  it("programmed ones with managed parameters; names that cannot name a Service are refused", () => {
    const programmed = translate(world, defaultTranslateOptions).gateways.keys()
    const { proxies, refused } = desiredProxies(world, programmed)
    expect(proxies.map((p) => p.key)).toEqual(["team/plain", "team/tools"])
    expect([...refused.keys()]).toEqual(["team/9lives"])
    expect(nameProblem("tools")).toBeUndefined()
    expect(nameProblem("x".repeat(64))).toContain("at most 63")
  })
})

describe("rendered objects", () => {
  const objects = renderManagedProxy(tools, xds, "secret-uid")
  const deployment = objects.deployment as any
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]))

  it("are owned by the Gateway, carry our labels over the infrastructure's, and its annotations", () => {
    for (const object of Object.values(objects)) {
      expect(object.metadata).toMatchObject({
        name: "tools",
        namespace: "team",
        labels: {
          cost: "ai",
          "app.kubernetes.io/managed-by": "agentplane",
          "app.kubernetes.io/name": "agentgateway",
          "gateway.networking.k8s.io/gateway-name": "tools"
        },
        ownerReferences: [{ apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", name: "tools", uid: "uid-tools", controller: true }]
      })
      expect(object.metadata.annotations).toMatchObject({ owner: "team-a" })
    }
  })

  it("run agentgateway with its identity, xDS address, token, session key and settings", () => {
    expect(container.image).toBe("registry.example/agentgateway:v1.4.1")
    expect(container.args).toEqual(["-f", "/config/config.yaml"])
    expect(env).toMatchObject({
      XDS_ADDRESS: "http://agentplane.agentplane-system.svc:9978",
      XDS_AUTH_TOKEN: "/var/run/secrets/xds-tokens/xds-token",
      GATEWAY: "tools",
      NAMESPACE: "team",
      LOCALITY: "eu/west",
      RUST_LOG: "debug",
      A: "class",
      B: "gateway",
      SESSION_KEY: { secretKeyRef: { name: "tools-session-key", key: "SESSION_KEY" } },
      POD_NAME: { fieldRef: { fieldPath: "metadata.name" } }
    })
    expect(container.env.filter((e: any) => e.name === "LOCALITY")).toHaveLength(1)
    expect(env).not.toHaveProperty("XDS_ROOT_CA")
    expect(pod.volumes).toContainEqual({
      name: "xds-token",
      projected: { sources: [{ serviceAccountToken: { audience: "agentgateway", expirationSeconds: 3600, path: "xds-token" } }] }
    })
    expect(container.volumeMounts).toContainEqual({ name: "xds-token", mountPath: "/var/run/secrets/xds-tokens", readOnly: true })
    expect(pod.serviceAccountName).toBe("tools")
    expect(deployment.spec.replicas).toBe(2)
    expect(container.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi", cpu: 2 } })
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux", pool: "ai" })
    expect(pod.tolerations).toEqual([{ key: "dedicated", operator: "Exists" }])
  })

  it("are probed, scraped, hardened, and roll when the config or session key changes", () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: "/healthz/ready", port: 15021 })
    expect(container.startupProbe.httpGet).toEqual({ path: "/healthz/ready", port: 15021 })
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "15020",
      "prometheus.io/path": "/metrics",
      owner: "team-a"
    })
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] }
    })
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } })
    // Port 80 is a listener: binding it needs no capability with this sysctl.
    expect(pod.securityContext.sysctls).toEqual([{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }])
    const checksum = (o: typeof objects) => (o.deployment as any).spec.template.metadata.annotations["agentplane.dev/config-checksum"]
    expect(checksum(objects)).toMatch(/^[0-9a-f]{64}$/)
    expect(checksum(renderManagedProxy(tools, xds, "secret-uid"))).toBe(checksum(objects))
    expect(checksum(renderManagedProxy(tools, xds, "another-secret"))).not.toBe(checksum(objects))
    const retraced = { ...tools, settings: { ...tools.settings, tracing: { otlpEndpoint: "http://other:4317" } } }
    expect(checksum(renderManagedProxy(retraced, xds, "secret-uid"))).not.toBe(checksum(objects))
    // Replicas are not configuration: changing them must not restart every pod.
    expect(checksum(renderManagedProxy({ ...tools, settings: { ...tools.settings, replicas: 5 } }, xds, "secret-uid"))).toBe(checksum(objects))
  })

  it("put tracing in the config file and the CA beside it under TLS", () => {
    expect((objects.configMap as any).data["config.yaml"]).toContain("otlpEndpoint: http://otel.observability:4317")
    const tls = renderManagedProxy(tools, { ...xds, tls: true, rootCa: "-----BEGIN CERTIFICATE-----" }, undefined)
    const tlsEnv = Object.fromEntries((tls.deployment as any).spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]))
    expect(tlsEnv).toMatchObject({ XDS_ADDRESS: "https://agentplane.agentplane-system.svc:9978", XDS_ROOT_CA: "/config/xds-ca.crt" })
    expect((tls.configMap as any).data["xds-ca.crt"]).toBe("-----BEGIN CERTIFICATE-----")
    const system = renderManagedProxy(tools, { ...xds, tls: true }, undefined)
    expect((system.deployment as any).spec.template.spec.containers[0].env).toContainEqual({ name: "XDS_ROOT_CA", value: "SYSTEM" })
    expect((system.deployment as any).metadata.annotations).not.toHaveProperty("agentplane.dev/session-key-secret-uid")
  })

  it("expose each listener port once, named after a listener when the name fits", () => {
    expect(listenerPorts(tools.gateway)).toEqual([
      { name: "a2a", port: 80 },
      { name: "mcp", port: 8080 },
      { name: "port-9000", port: 9000 }
    ])
    expect((objects.service as any).spec).toEqual({
      type: "LoadBalancer",
      selector: { "app.kubernetes.io/name": "agentgateway", "gateway.networking.k8s.io/gateway-name": "tools" },
      ports: [
        { name: "a2a", port: 80, targetPort: 80, protocol: "TCP" },
        { name: "mcp", port: 8080, targetPort: 8080, protocol: "TCP" },
        { name: "port-9000", port: 9000, targetPort: 9000, protocol: "TCP" }
      ]
    })
    expect(objects.service.metadata.annotations).toEqual({ owner: "team-a", team: "platform" })
    expect(deployment.spec.selector.matchLabels).toEqual((objects.service as any).spec.selector)
  })

  it("use the default image without parameters", () => {
    const bare = renderManagedProxy({ ...tools, settings: {} }, xds, undefined)
    expect((bare.deployment as any).spec.template.spec.containers[0].image).toBe(`${DEFAULT_IMAGE.repository}:${DEFAULT_IMAGE.tag}`)
    expect((bare.configMap as any).data["config.yaml"]).toContain("config: {}")
  })
})

describe("status of managed Gateways", () => {
  const deployment = (available: number, replicas = 2): LiveDeployment => ({
    namespace: "team",
    name: "tools",
    uid: "d",
    gateway: "team/tools",
    gatewayName: "tools",
    sessionSecretUid: undefined,
    replicas,
    availableReplicas: available
  })
  const pending: ObjectStatus = {
    kind: "Gateway",
    namespace: "team",
    name: "tools",
    status: {
      conditions: [
        { type: "Accepted", status: "True", reason: "Accepted", message: "ok" },
        { type: "Programmed", status: "True", reason: "Programmed", message: "acknowledged by 1 of 1 connected proxy(ies)", observedGeneration: 2 }
      ],
      listeners: []
    }
  }
  const serviceWorld = (type: string, status?: object) =>
    worldFromObjects([
      decoded({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "tools", namespace: "team", labels: { "app.kubernetes.io/managed-by": "agentplane" } },
        spec: { type, clusterIP: "10.96.0.7", ports: [{ port: 80 }] },
        ...(status === undefined ? {} : { status })
      })
    ])
  const withManagedProxies = (statuses: ReadonlyArray<ObjectStatus>, world: World, managed: ReadonlyMap<string, ManagedGateway>) =>
    statuses.map((entry) => gatewayWithManagedProxy(entry, managed.get("team/tools"), world.services.get("team/tools")))
  const programmed = (statuses: ReadonlyArray<ObjectStatus>) => (statuses[0]!.status as GatewayStatus).conditions.find((c) => c.type === "Programmed")

  it("needs an available replica, then keeps the proxies' verdict and adds the addresses", () => {
    const none = withManagedProxies([pending], serviceWorld("ClusterIP"), new Map([["team/tools", { deployment: deployment(0), problem: undefined }]]))
    expect(programmed(none)).toMatchObject({ status: "False", reason: "Pending", observedGeneration: 2 })
    expect(programmed(none)!.message).toContain("0 of 2")
    const ready = withManagedProxies([pending], serviceWorld("ClusterIP"), new Map([["team/tools", { deployment: deployment(1), problem: undefined }]]))
    expect(programmed(ready)).toMatchObject({ status: "True", reason: "Programmed" })
    expect(programmed(ready)!.message).toContain("1 of 2 replica(s) available")
    expect((ready[0]!.status as GatewayStatus).addresses).toEqual([{ type: "IPAddress", value: "10.96.0.7" }])
  })

  it("waits for a load balancer's address, and names problems", () => {
    const waiting = withManagedProxies([pending], serviceWorld("LoadBalancer"), new Map([["team/tools", { deployment: deployment(2), problem: undefined }]]))
    expect(programmed(waiting)).toMatchObject({ status: "False", reason: "AddressNotAssigned" })
    const assigned = serviceWorld("LoadBalancer", { loadBalancer: { ingress: [{ ip: "203.0.113.9" }, { hostname: "lb.example.com" }] } })
    expect(serviceAddresses(assigned.services.get("team/tools"))).toEqual([
      { type: "IPAddress", value: "203.0.113.9" },
      { type: "Hostname", value: "lb.example.com" }
    ])
    const conflict = withManagedProxies(
      [pending],
      assigned,
      new Map([["team/tools", { deployment: undefined, problem: "ConfigMap team/tools already exists" }]])
    )
    expect(programmed(conflict)).toMatchObject({ status: "False", reason: "Invalid", message: "ConfigMap team/tools already exists" })
  })

  it("leaves self-managed Gateways alone, and their stale addresses are removed on write", () => {
    expect(withManagedProxies([pending], serviceWorld("ClusterIP"), new Map())).toEqual([pending])
    const live = { conditions: [], listeners: [], addresses: [{ type: "IPAddress", value: "10.96.0.7" }] }
    const merged = mergeGatewayStatus(live, pending.status as GatewayStatus, "2026-01-01T00:00:00Z")
    expect(merged).not.toHaveProperty("addresses")
    expect(replacementPatch(live, merged)).toMatchObject({ addresses: null })
  })
})
