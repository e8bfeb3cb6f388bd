// Discovery: which Service ports are agent backends, and how the proxy reaches them.
import { isIP } from "node:net"
import type { Service, ServicePort } from "../api/core.ts"
import { namespaceOf } from "../api/meta.ts"
import { allowExternalNames, describePolicy, externalNameRefusal } from "./externalNames.ts"
import { mcpTargetName, serviceBackendKey } from "./names.ts"
import type { TranslateOptions } from "./options.ts"

export type BackendProtocol = "mcp" | "mcp-sse" | "a2a"

/** appProtocol spellings in use, by what they mean. */
const appProtocols: Readonly<Record<string, BackendProtocol>> = {
  "kgateway.dev/mcp": "mcp",
  "agentgateway.dev/mcp": "mcp",
  "kgateway.dev/mcp-sse": "mcp-sse",
  "agentgateway.dev/mcp-sse": "mcp-sse",
  "kgateway.dev/a2a": "a2a",
  "agentgateway.dev/a2a": "a2a"
}

export const backendProtocolOf = (port: ServicePort): BackendProtocol | undefined =>
  port.appProtocol === undefined ? undefined : appProtocols[port.appProtocol]

export const MCP_PATH_ANNOTATION = "kgateway.dev/mcp-path"
export const A2A_PATH_ANNOTATION = "kgateway.dev/a2a-path"

const pathAnnotations: Readonly<Record<BackendProtocol, string>> = {
  mcp: MCP_PATH_ANNOTATION,
  "mcp-sse": MCP_PATH_ANNOTATION,
  a2a: A2A_PATH_ANNOTATION
}

const defaultPaths: Readonly<Record<BackendProtocol, string>> = { mcp: "/mcp", "mcp-sse": "/sse", a2a: "/" }

/** A Service port the proxy can reach, as an MCP target or A2A agent. */
export interface DiscoveredBackend {
  readonly protocol: BackendProtocol
  readonly namespace: string
  readonly service: string
  /** Port name, or the number as text when unnamed. */
  readonly portId: string
  /** Whether the Service offers several ports of the protocols asked for (names then include the port). */
  readonly onePortOfSeveral: boolean
  readonly targetName: string
  readonly backendKey: string
  readonly host: string
  readonly port: number
  readonly path: string
}

/** Why a Service port that looks like an agent backend cannot be used. */
export interface DiscoveryProblem {
  readonly namespace: string
  readonly service: string
  readonly field: string
  readonly message: string
}

export interface Discovery {
  readonly backends: ReadonlyArray<DiscoveredBackend>
  readonly problems: ReadonlyArray<DiscoveryProblem>
}

const validPath = (path: string): boolean => path.startsWith("/") && !/\s/.test(path)

/** A DNS name (labels of letters, digits and '-', an optional trailing dot) or an IP address. */
const isHost = (host: string): boolean =>
  isIP(host) !== 0 || (host.length <= 253 && /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$/i.test(host))

/** Discoveries by Service object: an unchanged Service is never examined twice. */
const discoveries = new WeakMap<Service, Map<string, Discovery>>()

/** The protocol sets are a few constants: their cache keys are built once. */
const protocolKeys = new WeakMap<ReadonlySet<BackendProtocol>, string>()
const protocolsKey = (protocols: ReadonlySet<BackendProtocol>): string => {
  let key = protocolKeys.get(protocols)
  if (key === undefined) {
    key = [...protocols].sort().join(",")
    protocolKeys.set(protocols, key)
  }
  return key
}

/** What of the options discovery depends on, built once per options object. */
const optionsKeys = new WeakMap<TranslateOptions, string>()
const optionsKey = (options: TranslateOptions): string => {
  let key = optionsKeys.get(options)
  if (key === undefined) {
    key = `${options.clusterDomain}|${describePolicy(options.externalNames ?? allowExternalNames)}`
    optionsKeys.set(options, key)
  }
  return key
}

/** Every agent backend a Service offers, for the protocols asked for (cached per Service object). */
export const discoverService = (service: Service, protocols: ReadonlySet<BackendProtocol>, options: TranslateOptions): Discovery => {
  const key = `${protocolsKey(protocols)}|${optionsKey(options)}`
  let byKey = discoveries.get(service)
  if (byKey === undefined) {
    byKey = new Map()
    discoveries.set(service, byKey)
  }
  const cached = byKey.get(key)
  if (cached !== undefined) return cached
  const discovery = examineService(service, protocols, options)
  byKey.set(key, discovery)
  return discovery
}

const examineService = (service: Service, protocols: ReadonlySet<BackendProtocol>, options: TranslateOptions): Discovery => {
  const namespace = namespaceOf(service.metadata)
  const name = service.metadata.name
  const ports = (service.spec.ports ?? [])
    .map((port, index) => ({ port, index, protocol: backendProtocolOf(port) }))
    .filter((entry): entry is typeof entry & { protocol: BackendProtocol } => entry.protocol !== undefined && protocols.has(entry.protocol))
  if (ports.length === 0) return { backends: [], problems: [] }

  const problems: Array<DiscoveryProblem> = []
  const problem = (field: string, message: string) => problems.push({ namespace, service: name, field, message })

  const annotations = service.metadata.annotations ?? {}
  for (const annotation of new Set(ports.map((entry) => pathAnnotations[entry.protocol]))) {
    const path = annotations[annotation]
    if (path !== undefined && !validPath(path)) {
      const example = annotation === A2A_PATH_ANNOTATION ? "/" : "/mcp"
      problem(`metadata.annotations["${annotation}"]`, `"${path}" is not a URL path; use an absolute path such as "${example}"`)
      return { backends: [], problems }
    }
  }

  const external = service.spec.type === "ExternalName"
  if (external && !isHost(service.spec.externalName ?? "")) {
    problem(
      "spec.externalName",
      service.spec.externalName === undefined || service.spec.externalName === ""
        ? "is empty on an ExternalName Service; set the DNS name the Service points to"
        : `"${service.spec.externalName}" is neither a DNS name nor an IP address; set the host the Service points to`
    )
    return { backends: [], problems }
  }
  const refusal = external ? externalNameRefusal(options.externalNames ?? allowExternalNames, service.spec.externalName!) : undefined
  if (refusal !== undefined) {
    problem("spec.externalName", refusal)
    return { backends: [], problems }
  }
  const headless = service.spec.clusterIP === "None"
  // Target names must be unique within a backend: name every port once a Service offers several.
  const several = ports.length > 1

  const backends: Array<DiscoveredBackend> = []
  for (const { index, port, protocol } of ports) {
    // A headless Service's DNS name resolves to the pods: the proxy must dial the pods' port.
    let dialPort = port.port
    if (headless && !external) {
      if (typeof port.targetPort === "string") {
        problem(
          `spec.ports[${index}].targetPort`,
          `is the named port "${port.targetPort}" on a headless Service; the proxy reaches headless Services by DNS and cannot resolve port names, so use a numeric targetPort`
        )
        continue
      }
      dialPort = port.targetPort ?? port.port
    }
    const portId = port.name ?? String(port.port)
    backends.push({
      protocol,
      namespace,
      service: name,
      portId,
      onePortOfSeveral: several,
      targetName: mcpTargetName(namespace, name, several ? portId : undefined),
      backendKey: serviceBackendKey(namespace, name, port.port),
      host: external ? (service.spec.externalName ?? "") : `${name}.${namespace}.svc.${options.clusterDomain}`,
      port: dialPort,
      path: annotations[pathAnnotations[protocol]] ?? defaultPaths[protocol]
    })
  }
  return { backends, problems }
}
