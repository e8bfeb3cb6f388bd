// Which GatewayParameters apply to a Gateway, merged field by field (the
// Gateway's own `spec.infrastructure.parametersRef` over its class's), and
// whether the result is something agentplane serves.
import type { Gateway, GatewayClass } from "../api/gatewayApi.ts"
import { KGATEWAY_GROUP, type GatewayParameters, type McpSettings } from "../api/gatewayParameters.ts"
import { namespaceOf } from "../api/meta.ts"
import {
  MCPBackend_FailureMode,
  MCPBackend_PrefixMode,
  MCPBackend_StatefulMode
} from "../gen/agentgateway/resource.ts"
import { defaultMcpBehaviour, type McpBehaviour } from "./resources.ts"
import type { World } from "./world.ts"

/** One GatewayParameters and the text that names it in messages. */
interface Layer {
  readonly parameters: GatewayParameters
  readonly where: string
}

export type ParametersResolution =
  | { readonly _tag: "Resolved"; readonly layers: ReadonlyArray<Layer> }
  | { readonly _tag: "Invalid"; readonly message: string }

const isGatewayParametersRef = (ref: { readonly group: string; readonly kind: string }) =>
  ref.group === KGATEWAY_GROUP && ref.kind === "GatewayParameters"

const describe = (parameters: GatewayParameters) => `GatewayParameters ${namespaceOf(parameters.metadata)}/${parameters.metadata.name}`

/** Parameters named by a GatewayClass; none named means self-managed defaults. */
export const classParameters = (world: World, gatewayClass: GatewayClass): ParametersResolution => {
  const ref = gatewayClass.spec.parametersRef
  if (ref === undefined) return { _tag: "Resolved", layers: [] }
  if (!isGatewayParametersRef(ref)) {
    return {
      _tag: "Invalid",
      message:
        `spec.parametersRef names ${ref.group || "core"}/${ref.kind}; it must name a GatewayParameters (group ${KGATEWAY_GROUP})`
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
export const gatewayParameters = (
  world: World,
  gateway: Gateway,
  fromClass: ReadonlyArray<Layer>
): ParametersResolution => {
  const ref = gateway.spec.infrastructure?.parametersRef
  if (ref === undefined) return { _tag: "Resolved", layers: fromClass }
  if (!isGatewayParametersRef(ref)) {
    return {
      _tag: "Invalid",
      message:
        `spec.infrastructure.parametersRef names ${ref.group || "core"}/${ref.kind}; it must name a GatewayParameters (group ${KGATEWAY_GROUP})`
    }
  }
  const namespace = namespaceOf(gateway.metadata)
  const parameters = world.gatewayParameters.get(`${namespace}/${ref.name}`)
  if (parameters === undefined) {
    return {
      _tag: "Invalid",
      message:
        `spec.infrastructure.parametersRef names GatewayParameters ${namespace}/${ref.name}, which does not exist; create it in the Gateway's namespace or fix the reference`
    }
  }
  return checkMode([...fromClass, { parameters, where: describe(parameters) }])
}

/** The last layer that says how proxies run decides; only self-managed proxies are served. */
const checkMode = (layers: ReadonlyArray<Layer>): ParametersResolution => {
  const deciding = [...layers].reverse().find(({ parameters }) =>
    parameters.spec.selfManaged !== undefined || parameters.spec.kube !== undefined
  )
  if (deciding?.parameters.spec.selfManaged !== undefined) return { _tag: "Resolved", layers }
  const where = deciding?.where ?? layers[layers.length - 1]!.where
  return {
    _tag: "Invalid",
    message: deciding === undefined
      ? `${where} does not say how proxies run; set "spec.selfManaged: {}" (agentplane serves proxies that you run yourself)`
      : `${where} asks for proxies deployed by agentplane (spec.kube), which is not supported yet; set "spec.selfManaged: {}" and run the proxy yourself`
  }
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
