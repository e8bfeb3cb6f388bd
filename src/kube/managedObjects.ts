// The objects agentplane runs for a managed Gateway, rendered purely from the
// Gateway, its merged parameters and agentplane's own xDS address: a
// ServiceAccount, a ConfigMap with the proxy's config file, a Deployment, a
// Service, and (created once, never rendered again) the Secret holding the
// proxy's session key.
import { createHash } from "node:crypto"
import { stringify } from "yaml"
import type { Gateway } from "../api/gatewayApi.ts"
import type { AgentgatewaySettings } from "../api/gatewayParameters.ts"
import { namespaceOf } from "../api/meta.ts"
import { parametersOf, proxyMode } from "../translate/parameters.ts"
import type { World } from "../world/world.ts"
import { canonical } from "./statusMerge.ts"

/** Unverified here (no registry access): a v1.4 release, the line the xDS contract targets. */
export const DEFAULT_IMAGE = { repository: "cr.agentgateway.dev/agentgateway", tag: "v1.4.1" } as const

export const FIELD_MANAGER = "agentplane"
export const LABEL_NAME = "app.kubernetes.io/name"
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
export const LABEL_GATEWAY = "gateway.networking.k8s.io/gateway-name"
/** Selects every Deployment agentplane manages, in all namespaces. */
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${FIELD_MANAGER},${LABEL_NAME}=agentgateway`
export const CHECKSUM_ANNOTATION = "agentplane.dev/config-checksum"
/** On the Deployment: the session-key Secret agentplane created, so that only that one is ever deleted. */
export const SESSION_SECRET_UID_ANNOTATION = "agentplane.dev/session-key-secret-uid"

/** What agentgateway's contract fixes: token audience and path, ports, config file. */
export const XDS_TOKEN_AUDIENCE = "agentgateway"
const TOKEN_DIR = "/var/run/secrets/xds-tokens"
const TOKEN_FILE = "xds-token"
const CONFIG_DIR = "/config"
const CONFIG_FILE = "config.yaml"
const CA_FILE = "xds-ca.crt"
const METRICS_PORT = 15020
const READINESS_PORT = 15021
export const SESSION_KEY = "SESSION_KEY"
/** A numeric non-root user, so the kubelet can enforce runAsNonRoot whatever the image declares. */
const PROXY_UID = 65532

export type KubeObject = {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: {
    readonly name: string
    readonly namespace: string
    readonly labels?: Readonly<Record<string, string>>
    readonly annotations?: Readonly<Record<string, string>>
    readonly ownerReferences?: ReadonlyArray<unknown>
  }
  readonly [field: string]: unknown
}

/** Where managed proxies reach agentplane's xDS server. */
export interface XdsEndpoint {
  /** `host:port`, e.g. `agentplane.agentplane-system.svc:9978`. */
  readonly address: string
  readonly tls: boolean
  /** PEM of the CA that signed the xDS server's certificate; without it the proxy trusts the system roots. */
  readonly rootCa?: string
}

export interface ManagedProxy {
  /** `namespace/name` of the Gateway. */
  readonly key: string
  readonly gateway: Gateway
  readonly settings: AgentgatewaySettings
}

export interface ManagedObjects {
  readonly serviceAccount: KubeObject
  readonly configMap: KubeObject
  readonly service: KubeObject
  readonly deployment: KubeObject
}

export const names = (gatewayName: string) => ({
  serviceAccount: gatewayName,
  configMap: gatewayName,
  service: gatewayName,
  deployment: gatewayName,
  sessionSecret: `${gatewayName}-session-key`
})

/** Objects are named after the Gateway; a Service name must be a short RFC 1035 label. */
export const nameProblem = (gatewayName: string): string | undefined =>
  /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(gatewayName) && gatewayName.length <= 63
    ? undefined
    : `agentplane names the proxy's Service after the Gateway, so a managed Gateway's name must be a lowercase RFC 1035 label of at most 63 characters (a letter first); rename the Gateway or run its proxy yourself (selfManaged)`

export type ManagedKind = "ServiceAccount" | "ConfigMap" | "Secret" | "Service" | "Deployment"

/** The REST path of a managed object; with no name, of its collection. */
export const pathOf = (kind: ManagedKind, namespace: string, name?: string) => {
  const base = kind === "Deployment" ? `/apis/apps/v1/namespaces/${namespace}/deployments` : `/api/v1/namespaces/${namespace}/${kind.toLowerCase()}s`
  return name === undefined ? base : `${base}/${name}`
}

/** A managed object, by kind, name and REST path. */
export interface ObjectRef {
  readonly kind: ManagedKind
  readonly name: string
  readonly path: string
}

export const refOf = (object: KubeObject): ObjectRef => ({
  kind: object.kind as ManagedKind,
  name: object.metadata.name,
  path: pathOf(object.kind as ManagedKind, object.metadata.namespace, object.metadata.name)
})

/** The rendered objects (all but the session Secret) of a Gateway's proxy. */
export const renderedRefs = (namespace: string, gatewayName: string): ReadonlyArray<ObjectRef> => {
  const objectNames = names(gatewayName)
  return (
    [
      ["ServiceAccount", objectNames.serviceAccount],
      ["ConfigMap", objectNames.configMap],
      ["Service", objectNames.service],
      ["Deployment", objectNames.deployment]
    ] as const
  ).map(([kind, name]) => ({ kind, name, path: pathOf(kind, namespace, name) }))
}

const selectorLabels = (gatewayName: string) => ({ [LABEL_NAME]: "agentgateway", [LABEL_GATEWAY]: gatewayName })

const metadata = (proxy: ManagedProxy, name: string, extraAnnotations: Readonly<Record<string, string>> = {}) => {
  const gateway = proxy.gateway
  const infrastructure = gateway.spec.infrastructure
  const annotations = { ...infrastructure?.annotations, ...extraAnnotations }
  return {
    name,
    namespace: namespaceOf(gateway.metadata),
    // The Gateway API's infrastructure labels first: ours must win, selectors depend on them.
    labels: { ...infrastructure?.labels, ...selectorLabels(gateway.metadata.name), [LABEL_MANAGED_BY]: FIELD_MANAGER },
    ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
    // No blockOwnerDeletion: it would need update on gateways/finalizers, and agentplane deletes these itself.
    ownerReferences: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        name: gateway.metadata.name,
        uid: gateway.metadata.uid ?? "",
        controller: true
      }
    ]
  }
}

/** One Service/container port per distinct listener port, named after a listener where the name fits. */
export const listenerPorts = (gateway: Gateway): ReadonlyArray<{ readonly name: string; readonly port: number }> => {
  const byPort = new Map<number, string>()
  for (const listener of gateway.spec.listeners) {
    if (byPort.has(listener.port)) continue
    // IANA service names (at most 15 characters, a letter, no "--"); `port-N` is kept for the fallback.
    const fits =
      /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*$/.test(listener.name) &&
      listener.name.length <= 15 &&
      !listener.name.endsWith("-") &&
      !/^port-\d+$/.test(listener.name)
    byPort.set(listener.port, fits ? listener.name : `port-${listener.port}`)
  }
  return [...byPort].sort(([a], [b]) => a - b).map(([port, name]) => ({ name, port }))
}

/** The proxy's config file: everything else arrives over xDS. */
export const configFile = (proxy: ManagedProxy): string => {
  const tracing = proxy.settings.tracing
  const config = tracing === undefined ? {} : { tracing: { otlpEndpoint: tracing.otlpEndpoint, otlpProtocol: tracing.otlpProtocol ?? "grpc" } }
  return `# Written by agentplane for Gateway ${proxy.key}; the configuration arrives over xDS.\n${stringify({ config })}`
}

interface EnvVar {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: unknown
}

const proxyEnv = (proxy: ManagedProxy, xds: XdsEndpoint): ReadonlyArray<EnvVar> => {
  const gateway = proxy.gateway
  const fieldRef = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } })
  const ours: Array<EnvVar> = [
    { name: "XDS_ADDRESS", value: `${xds.tls ? "https" : "http"}://${xds.address}` },
    ...(xds.tls ? [{ name: "XDS_ROOT_CA", value: xds.rootCa === undefined ? "SYSTEM" : `${CONFIG_DIR}/${CA_FILE}` }] : []),
    { name: "XDS_AUTH_TOKEN", value: `${TOKEN_DIR}/${TOKEN_FILE}` },
    { name: "GATEWAY", value: gateway.metadata.name },
    { name: "NAMESPACE", value: namespaceOf(gateway.metadata) },
    fieldRef("POD_NAME", "metadata.name"),
    fieldRef("INSTANCE_IP", "status.podIP"),
    fieldRef("NODE_NAME", "spec.nodeName"),
    // Any value: with POD_NAME set and LOCALITY unset the proxy waits for a Workload about itself,
    // which agentplane never sends, and never turns ready.
    { name: "LOCALITY", value: "unknown" },
    { name: "RUST_LOG", value: proxy.settings.logLevel ?? "info" },
    { name: SESSION_KEY, valueFrom: { secretKeyRef: { name: names(gateway.metadata.name).sessionSecret, key: SESSION_KEY } } }
  ]
  for (const extra of proxy.settings.env ?? []) {
    const index = ours.findIndex((env) => env.name === extra.name)
    if (index >= 0) ours[index] = extra
    else ours.push(extra)
  }
  return ours
}

const hash = (value: unknown) => createHash("sha256").update(canonical(value)).digest("hex")

export const renderManagedProxy = (proxy: ManagedProxy, xds: XdsEndpoint, sessionSecretUid: string | undefined): ManagedObjects => {
  const gateway = proxy.gateway
  const name = gateway.metadata.name
  const settings = proxy.settings
  const objectNames = names(name)
  const ports = listenerPorts(gateway)

  const configData = { [CONFIG_FILE]: configFile(proxy), ...(xds.tls && xds.rootCa !== undefined ? { [CA_FILE]: xds.rootCa } : {}) }
  const configMap: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: metadata(proxy, objectNames.configMap), data: configData }
  const serviceAccount: KubeObject = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: metadata(proxy, objectNames.serviceAccount),
    // The proxy never calls the Kubernetes API; its only token is the xDS one, with its own audience.
    automountServiceAccountToken: false
  }

  const service: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(proxy, objectNames.service, settings.service?.annotations),
    spec: {
      type: settings.service?.type ?? "ClusterIP",
      selector: selectorLabels(name),
      ports: ports.map(({ name, port }) => ({ name, port, targetPort: port, protocol: "TCP" }))
    }
  }

  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: "/healthz/ready", port: READINESS_PORT },
    periodSeconds,
    failureThreshold
  })
  // A restart is what makes the proxy read a new config file or session key.
  const checksum = hash({ configData, sessionSecretUid: sessionSecretUid ?? "" })
  const image = `${settings.image?.repository ?? DEFAULT_IMAGE.repository}:${settings.image?.tag ?? DEFAULT_IMAGE.tag}`
  const lowPorts = ports.some(({ port }) => port < 1024)
  const deploymentMeta = metadata(proxy, objectNames.deployment, sessionSecretUid === undefined ? {} : { [SESSION_SECRET_UID_ANNOTATION]: sessionSecretUid })
  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: deploymentMeta,
    spec: {
      replicas: settings.replicas ?? 1,
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: {
          labels: metadata(proxy, name).labels,
          annotations: {
            ...gateway.spec.infrastructure?.annotations,
            // agentgateway's metrics, for Prometheus' conventional kubernetes-pods job.
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(METRICS_PORT),
            "prometheus.io/path": "/metrics",
            [CHECKSUM_ANNOTATION]: checksum
          }
        },
        spec: {
          serviceAccountName: objectNames.serviceAccount,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: PROXY_UID,
            runAsGroup: PROXY_UID,
            fsGroup: PROXY_UID,
            seccompProfile: { type: "RuntimeDefault" },
            // Listener ports below 1024 without any capability: a namespaced, "safe" sysctl.
            ...(lowPorts ? { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] } : {})
          },
          containers: [
            {
              name: "agentgateway",
              image,
              imagePullPolicy: settings.image?.pullPolicy ?? "IfNotPresent",
              args: ["-f", `${CONFIG_DIR}/${CONFIG_FILE}`],
              env: proxyEnv(proxy, xds),
              ports: [
                ...ports.map(({ name, port }) => ({ name, containerPort: port, protocol: "TCP" })),
                { name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" },
                { name: "readiness", containerPort: READINESS_PORT, protocol: "TCP" }
              ],
              // Ready only once both xDS types were answered and applied.
              readinessProbe: probe(5, 3),
              startupProbe: probe(1, 60),
              ...(settings.resources === undefined ? {} : { resources: settings.resources }),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] }
              },
              volumeMounts: [
                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                { name: "xds-token", mountPath: TOKEN_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" }
              ]
            }
          ],
          volumes: [
            { name: "config", configMap: { name: objectNames.configMap } },
            {
              name: "xds-token",
              projected: {
                sources: [{ serviceAccountToken: { audience: XDS_TOKEN_AUDIENCE, expirationSeconds: 3600, path: TOKEN_FILE } }]
              }
            },
            { name: "tmp", emptyDir: {} }
          ],
          ...(settings.nodeSelector === undefined ? {} : { nodeSelector: settings.nodeSelector }),
          ...(settings.tolerations === undefined ? {} : { tolerations: settings.tolerations })
        }
      }
    }
  }
  return { serviceAccount, configMap, service, deployment }
}

/** The Secret with the proxy's session key (64 hex characters), created once and then left alone. */
export const sessionKeySecret = (proxy: ManagedProxy, key: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: metadata(proxy, names(proxy.gateway.metadata.name).sessionSecret),
  type: "Opaque",
  stringData: { [SESSION_KEY]: key }
})

/** The programmed Gateways whose parameters ask for managed proxies, and those that cannot be managed. */
export const desiredProxies = (
  world: World,
  programmed: Iterable<string>
): {
  readonly proxies: ReadonlyArray<ManagedProxy>
  readonly refused: ReadonlyMap<string, string>
} => {
  const proxies: Array<ManagedProxy> = []
  const refused = new Map<string, string>()
  for (const key of [...programmed].sort()) {
    const gateway = world.gateways.get(key)
    if (gateway === undefined) continue
    const resolution = parametersOf(world, gateway)
    if (resolution._tag === "Invalid") continue
    const mode = proxyMode(resolution.layers)
    if (mode._tag === "SelfManaged") continue
    const problem = nameProblem(gateway.metadata.name)
    if (problem !== undefined) refused.set(key, problem)
    else proxies.push({ key, gateway, settings: mode.settings })
  }
  return { proxies, refused }
}
