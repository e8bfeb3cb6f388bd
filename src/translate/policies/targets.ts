// Which Gateways (or listeners) a policy's targetRefs name, and which of them are ours.
import type { AgentgatewayPolicy, PolicyTargetReference } from "../../api/agentgatewayPolicy.ts"
import { GATEWAY_API_GROUP } from "../../api/gatewayApi.ts"
import { namespaceOf } from "../../api/meta.ts"
import type { World } from "../../world/world.ts"
import type { TranslateOptions } from "../options.ts"

/** A Gateway or one of its listeners, as the proxy's `PolicyTarget.gateway` names it. */
export interface GatewayTarget {
  readonly namespace: string
  readonly name: string
  readonly listener?: string
}

/** The object a status ancestor names (a Gateway API ParentReference). */
export interface AncestorRef {
  readonly group: string
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly sectionName?: string
}

export type TargetResolution =
  /** One of our Gateways (and listener, when sectionName names one). */
  | { readonly _tag: "Attached"; readonly ancestor: AncestorRef; readonly target: GatewayTarget; readonly gatewayKey: string }
  | { readonly _tag: "NotFound"; readonly ancestor: AncestorRef; readonly message: string }
  /** A kind agentplane cannot attach to: the policy is refused. */
  | { readonly _tag: "Unsupported"; readonly ancestor: AncestorRef; readonly message: string }
  /** A Gateway of another controller: not ours to judge or report. */
  | { readonly _tag: "Foreign" }

const ROUTE_KINDS = new Set(["HTTPRoute", "GRPCRoute", "AgentgatewayBackend", "InferencePool", "ListenerSet", "Service"])

const resolveOne = (world: World, options: TranslateOptions, namespace: string, ref: PolicyTargetReference, index: number): TargetResolution => {
  const ancestor: AncestorRef = {
    group: ref.group,
    kind: ref.kind,
    namespace,
    name: ref.name,
    ...(ref.sectionName === undefined ? {} : { sectionName: ref.sectionName })
  }
  const field = `spec.targetRefs[${index}]`
  if (ref.kind !== "Gateway" || ref.group !== GATEWAY_API_GROUP) {
    return {
      _tag: "Unsupported",
      ancestor,
      message: ROUTE_KINDS.has(ref.kind)
        ? `${field}: a target of kind ${ref.kind} is not supported by agentplane yet; target the Gateway (group ${GATEWAY_API_GROUP}, kind Gateway), optionally one listener by sectionName`
        : `${field}: ${ref.group === "" ? "" : `${ref.group}/`}${ref.kind} is not a target agentplane supports; target a Gateway (group ${GATEWAY_API_GROUP}, kind Gateway)`
    }
  }
  const gatewayKey = `${namespace}/${ref.name}`
  const gateway = world.gateways.get(gatewayKey)
  if (gateway === undefined) {
    return {
      _tag: "NotFound",
      ancestor,
      message: `${field}: Gateway ${gatewayKey} not found; create it or fix the name (a policy targets Gateways of its own namespace)`
    }
  }
  if (world.gatewayClasses.get(gateway.spec.gatewayClassName)?.spec.controllerName !== options.controllerName) return { _tag: "Foreign" }
  if (ref.sectionName !== undefined && !gateway.spec.listeners.some((listener) => listener.name === ref.sectionName)) {
    return {
      _tag: "NotFound",
      ancestor,
      message: `${field}: Gateway ${gatewayKey} has no listener ${JSON.stringify(ref.sectionName)} (its listeners: ${gateway.spec.listeners.map((l) => l.name).join(", ")}); fix sectionName`
    }
  }
  return {
    _tag: "Attached",
    ancestor,
    gatewayKey,
    target: { namespace, name: ref.name, ...(ref.sectionName === undefined ? {} : { listener: ref.sectionName }) }
  }
}

/** One resolution per targetRef, in order; a repeated targetRef counts once. */
export const resolveTargets = (world: World, options: TranslateOptions, policy: AgentgatewayPolicy): ReadonlyArray<TargetResolution> => {
  const namespace = namespaceOf(policy.metadata)
  const seen = new Set<string>()
  const resolutions: Array<TargetResolution> = []
  ;(policy.spec.targetRefs ?? []).forEach((ref, index) => {
    const id = `${ref.group}/${ref.kind}/${ref.name}/${ref.sectionName ?? ""}`
    if (seen.has(id)) return
    seen.add(id)
    resolutions.push(resolveOne(world, options, namespace, ref, index))
  })
  return resolutions
}

/** The Gateway objects a policy's targets name (for memo inputs): present or not, by identity. */
export const targetGatewaysOf = (world: World, policy: AgentgatewayPolicy): ReadonlyArray<unknown> => {
  const namespace = namespaceOf(policy.metadata)
  return (policy.spec.targetRefs ?? []).flatMap((ref) => {
    const gateway = world.gateways.get(`${namespace}/${ref.name}`)
    return gateway === undefined ? [undefined] : [gateway, world.gatewayClasses.get(gateway.spec.gatewayClassName)]
  })
}
