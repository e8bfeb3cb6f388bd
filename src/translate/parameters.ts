// Which GatewayParameters apply to a Gateway, and whether they are usable.
import type { Gateway, GatewayClass } from "../api/gatewayApi.ts"
import { KGATEWAY_GROUP, type GatewayParameters } from "../api/gatewayParameters.ts"
import { namespaceOf } from "../api/meta.ts"
import type { World } from "./world.ts"

export type ParametersResolution =
  | { readonly _tag: "Resolved"; readonly parameters: GatewayParameters | undefined }
  | { readonly _tag: "Invalid"; readonly message: string }

const isGatewayParametersRef = (ref: { readonly group: string; readonly kind: string }) =>
  ref.group === KGATEWAY_GROUP && ref.kind === "GatewayParameters"

const usable = (parameters: GatewayParameters, where: string): ParametersResolution =>
  parameters.spec.selfManaged !== undefined
    ? { _tag: "Resolved", parameters }
    : {
      _tag: "Invalid",
      message:
        `${where} does not set spec.selfManaged; agentplane only serves proxies that you run yourself, so set "spec.selfManaged: {}"`
    }

/** Parameters named by a GatewayClass; none named means self-managed defaults. */
export const classParameters = (world: World, gatewayClass: GatewayClass): ParametersResolution => {
  const ref = gatewayClass.spec.parametersRef
  if (ref === undefined) return { _tag: "Resolved", parameters: undefined }
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
  return usable(parameters, `GatewayParameters ${ref.namespace}/${ref.name}`)
}

/** A Gateway's own `spec.infrastructure.parametersRef` replaces its class's parameters. */
export const gatewayParameters = (
  world: World,
  gateway: Gateway,
  fromClass: GatewayParameters | undefined
): ParametersResolution => {
  const ref = gateway.spec.infrastructure?.parametersRef
  if (ref === undefined) return { _tag: "Resolved", parameters: fromClass }
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
  return usable(parameters, `GatewayParameters ${namespace}/${ref.name}`)
}
