// Which GatewayParameters apply to a Gateway, merged field by field (the
// Gateway's own `spec.infrastructure.parametersRef` over its class's), and
// how its proxies run: by the user (selfManaged) or by agentplane (kube).
import type { Gateway, GatewayClass } from "../api/gatewayApi.ts"
import { type AgentgatewaySettings, KGATEWAY_GROUP, type GatewayParameters, type McpSettings } from "../api/gatewayParameters.ts"
import { namespaceOf } from "../api/meta.ts"
import { MCPBackend_FailureMode, MCPBackend_PrefixMode, MCPBackend_StatefulMode } from "../gen/agentgateway/resource.ts"
import { defaultMcpBehaviour, type McpBehaviour } from "./resources.ts"
import type { World } from "../world/world.ts"

/** One GatewayParameters and the text that names it in messages. */
interface Layer {
  readonly parameters: GatewayParameters
  readonly where: string
}

export type ParametersResolution = { readonly _tag: "Resolved"; readonly layers: ReadonlyArray<Layer> } | { readonly _tag: "Invalid"; readonly message: string }

const isGatewayParametersRef = (ref: { readonly group: string; readonly kind: string }) => ref.group === KGATEWAY_GROUP && ref.kind === "GatewayParameters"

const describe = (parameters: GatewayParameters) => `GatewayParameters ${namespaceOf(parameters.metadata)}/${parameters.metadata.name}`

/** Parameters named by a GatewayClass; none named means self-managed defaults. */
export const classParameters = (world: World, gatewayClass: GatewayClass): ParametersResolution => {
  const ref = gatewayClass.spec.parametersRef
  if (ref === undefined) return { _tag: "Resolved", layers: [] }
  if (!isGatewayParametersRef(ref)) {
    return {
      _tag: "Invalid",
      message: `spec.parametersRef names ${ref.group || "core"}/${ref.kind}; it must name a GatewayParameters (group ${KGATEWAY_GROUP})`
    }
  }
  if (ref.namespace === undefined) {
    return { _tag: "Invalid", message: "spec.parametersRef.namespace is missing; GatewayParameters are namespaced, so name the namespace" }
  }
  const parameters = world.gatewayParameters.get(`${ref.namespace}/${ref.name}`)
  if (parameters === undefined) {
    return {
      _tag: "Invalid",
      message: `spec.parametersRef names GatewayParameters ${ref.namespace}/${ref.name}, which does not exist; create it or fix the reference`
    }
  }
  return checkMode([{ parameters, where: describe(parameters) }])
}

/** The class's parameters with the Gateway's own on top. */
export const gatewayParameters = (world: World, gateway: Gateway, fromClass: ReadonlyArray<Layer>): ParametersResolution => {
  const ref = gateway.spec.infrastructure?.parametersRef
  if (ref === undefined) return { _tag: "Resolved", layers: fromClass }
  if (!isGatewayParametersRef(ref)) {
    return {
      _tag: "Invalid",
      message: `spec.infrastructure.parametersRef names ${ref.group || "core"}/${ref.kind}; it must name a GatewayParameters (group ${KGATEWAY_GROUP})`
    }
  }
  const namespace = namespaceOf(gateway.metadata)
  const parameters = world.gatewayParameters.get(`${namespace}/${ref.name}`)
  if (parameters === undefined) {
    return {
      _tag: "Invalid",
      message: `spec.infrastructure.parametersRef names GatewayParameters ${namespace}/${ref.name}, which does not exist; create it in the Gateway's namespace or fix the reference`
    }
  }
  return checkMode([...fromClass, { parameters, where: describe(parameters) }])
}

/** The last layer that says how proxies run (selfManaged or kube). */
const decidingLayer = (layers: ReadonlyArray<Layer>): Layer | undefined =>
  [...layers].reverse().find(({ parameters }) => parameters.spec.selfManaged !== undefined || parameters.spec.kube !== undefined)

/** Some layer must say how proxies run. */
const checkMode = (layers: ReadonlyArray<Layer>): ParametersResolution =>
  decidingLayer(layers) !== undefined
    ? { _tag: "Resolved", layers }
    : {
        _tag: "Invalid",
        message: `${layers[layers.length - 1]!.where} does not say how proxies run; set "spec.selfManaged: {}" (you run the proxy) or "spec.kube: {}" (agentplane deploys it)`
      }

/** Everything that applies to a Gateway: its class's parameters, then its own. */
export const parametersOf = (world: World, gateway: Gateway): ParametersResolution => {
  const gatewayClass = world.gatewayClasses.get(gateway.spec.gatewayClassName)
  if (gatewayClass === undefined) return { _tag: "Invalid", message: `GatewayClass ${gateway.spec.gatewayClassName} does not exist` }
  const fromClass = classParameters(world, gatewayClass)
  return fromClass._tag === "Invalid" ? fromClass : gatewayParameters(world, gateway, fromClass.layers)
}

export type ProxyMode = { readonly _tag: "SelfManaged" } | { readonly _tag: "Managed"; readonly settings: AgentgatewaySettings }

/**
 * How a Gateway's proxies run. No parameters at all means self-managed (agentplane then only
 * serves xDS); otherwise the last layer that says decides, and managed settings merge over
 * every layer.
 */
export const proxyMode = (layers: ReadonlyArray<Layer>): ProxyMode => {
  const deciding = decidingLayer(layers)
  if (deciding === undefined || deciding.parameters.spec.selfManaged !== undefined) return { _tag: "SelfManaged" }
  return {
    _tag: "Managed",
    settings: layers.reduce<AgentgatewaySettings>((merged, { parameters }) => mergeAgentgateway(merged, parameters.spec.kube?.agentgateway ?? {}), {})
  }
}

/** An object without its undefined fields (exact optional properties, and no "key: undefined" in output). */
const defined = <A extends object>(object: { readonly [K in keyof A]-?: A[K] | undefined }): A =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as A

type Resources = NonNullable<AgentgatewaySettings["resources"]>
type Service = NonNullable<AgentgatewaySettings["service"]>

const mergeMaps = <V>(a: Readonly<Record<string, V>> | undefined, b: Readonly<Record<string, V>> | undefined) =>
  a === undefined ? b : b === undefined ? a : { ...a, ...b }

/**
 * `over`'s set fields win: nested objects and maps merge key by key, env merges by name (keeping
 * the first layer's order), tolerations are replaced as a whole. Builds new objects; the inputs
 * are never changed.
 */
export const mergeAgentgateway = (base: AgentgatewaySettings, over: AgentgatewaySettings): AgentgatewaySettings => {
  const env =
    base.env === undefined || over.env === undefined
      ? (over.env ?? base.env)
      : [
          ...base.env.map((entry) => over.env!.find((o) => o.name === entry.name) ?? entry),
          ...over.env.filter((entry) => !base.env!.some((b) => b.name === entry.name))
        ]
  const resources =
    base.resources === undefined || over.resources === undefined
      ? (over.resources ?? base.resources)
      : defined<Resources>({
          requests: mergeMaps(base.resources.requests, over.resources.requests),
          limits: mergeMaps(base.resources.limits, over.resources.limits)
        })
  const service =
    base.service === undefined || over.service === undefined
      ? (over.service ?? base.service)
      : defined<Service>({ type: over.service.type ?? base.service.type, annotations: mergeMaps(base.service.annotations, over.service.annotations) })
  return defined<AgentgatewaySettings>({
    image: base.image === undefined || over.image === undefined ? (over.image ?? base.image) : { ...base.image, ...over.image },
    replicas: over.replicas ?? base.replicas,
    resources,
    logLevel: over.logLevel ?? base.logLevel,
    env,
    nodeSelector: mergeMaps(base.nodeSelector, over.nodeSelector),
    tolerations: over.tolerations ?? base.tolerations,
    service,
    tracing: base.tracing === undefined || over.tracing === undefined ? (over.tracing ?? base.tracing) : { ...base.tracing, ...over.tracing }
  })
}

const prefixModes = {
  Always: MCPBackend_PrefixMode.ALWAYS,
  Conditional: MCPBackend_PrefixMode.CONDITIONAL,
  Never: MCPBackend_PrefixMode.NEVER
} as const
const sessionModes = { Stateful: MCPBackend_StatefulMode.STATEFUL, Stateless: MCPBackend_StatefulMode.STATELESS } as const
const failureModes = { FailOpen: MCPBackend_FailureMode.FAIL_OPEN, FailClosed: MCPBackend_FailureMode.FAIL_CLOSED } as const

/** MCP behaviour: defaults, then each layer's fields on top. */
export const mcpBehaviour = (layers: ReadonlyArray<Layer>): McpBehaviour => {
  const merged: McpSettings = Object.assign({}, ...layers.map(({ parameters }) => parameters.spec.mcp ?? {}))
  return {
    prefixMode: merged.prefixMode === undefined ? defaultMcpBehaviour.prefixMode : prefixModes[merged.prefixMode],
    statefulMode: merged.sessionMode === undefined ? defaultMcpBehaviour.statefulMode : sessionModes[merged.sessionMode],
    failureMode: merged.failureMode === undefined ? defaultMcpBehaviour.failureMode : failureModes[merged.failureMode]
  }
}
