// World → Translation: the agentgateway resources of every Gateway we own,
// and the status of every object we judged. Pure and deterministic: the same
// World gives the same output, whatever order its objects arrived in.
import type { Gateway, GatewayClass } from "../api/gatewayApi.ts"
import { namespaceOf } from "../api/meta.ts"
import { condition, type Condition } from "./conditions.ts"
import type { DiscoveryProblem } from "./discovery.ts"
import { judgeListeners, supportedKinds } from "./listeners.ts"
import { mcpListener } from "./mcp.ts"
import { admittedNamespaces } from "./namespaces.ts"
import type { TranslateOptions } from "./options.ts"
import { a2aListener } from "./a2a.ts"
import { classParameters, gatewayParameters, mcpBehaviour, type ParametersResolution } from "./parameters.ts"
import { bindResource, httpListenerResource, type McpBehaviour, type NamedResource } from "./resources.ts"
import { sortStatuses, type GatewayStatus, type ListenerStatus, type ObjectStatus } from "./status.ts"
import type { World } from "./world.ts"

export interface Translation {
  /** Resources per Gateway (`namespace/name`), sorted by xDS name, without duplicates. */
  readonly gateways: ReadonlyMap<string, ReadonlyArray<NamedResource>>
  readonly statuses: ReadonlyArray<ObjectStatus>
}

export const PENDING_MESSAGE = "configuration is valid; waiting for a proxy of this Gateway to acknowledge it"

const sortedUnique = (resources: ReadonlyArray<NamedResource>): ReadonlyArray<NamedResource> => {
  const byName = new Map<string, NamedResource>()
  for (const resource of resources) byName.set(resource.name, resource)
  return [...byName.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
}

/** Sorted, so that the message does not depend on the order objects arrived in. */
const describeProblems = (problems: ReadonlyArray<DiscoveryProblem>): string =>
  problems.map((p) => `Service ${p.namespace}/${p.service}: ${p.field} ${p.message}`).sort().join("; ")

interface GatewayResult {
  readonly resources: ReadonlyArray<NamedResource> | undefined
  readonly status: GatewayStatus
}

const rejectedGateway = (gateway: Gateway, reason: string, message: string): GatewayResult => {
  const generation = gateway.metadata.generation
  return {
    resources: undefined,
    status: {
      conditions: [
        condition("Accepted", false, reason, message, generation),
        condition("Programmed", false, "Invalid", "the Gateway is not accepted", generation)
      ],
      listeners: gateway.spec.listeners.map((listener) => ({
        name: listener.name,
        supportedKinds: [],
        attachedRoutes: 0,
        conditions: [
          condition("Accepted", false, reason, "the Gateway is not accepted", generation),
          condition("Programmed", false, "Invalid", "the Gateway is not accepted", generation)
        ]
      }))
    }
  }
}

const translateGateway = (
  world: World,
  gateway: Gateway,
  behaviour: McpBehaviour,
  options: TranslateOptions
): GatewayResult => {
  const namespace = namespaceOf(gateway.metadata)
  const name = gateway.metadata.name
  const generation = gateway.metadata.generation
  const verdicts = judgeListeners(gateway.spec.listeners)
  const resources: Array<NamedResource> = []
  const listenerStatuses: Array<ListenerStatus> = []

  gateway.spec.listeners.forEach((listener, index) => {
    const verdict = verdicts[index]!
    const kind = verdict._tag === "Ok" ? verdict.kind : undefined
    const conditions: Array<Condition> = []
    let attachedRoutes = 0
    switch (verdict._tag) {
      case "Unsupported":
        conditions.push(
          condition("Accepted", false, "UnsupportedProtocol", verdict.message, generation),
          condition("Conflicted", false, "NoConflicts", "no conflicts", generation),
          condition("Programmed", false, "Invalid", "the listener is not accepted", generation),
          condition("ResolvedRefs", true, "ResolvedRefs", "nothing to resolve", generation)
        )
        break
      case "Conflicted":
        conditions.push(
          condition("Accepted", false, verdict.reason, verdict.message, generation),
          condition("Conflicted", true, verdict.reason, verdict.message, generation),
          condition("Programmed", false, "Invalid", "the listener conflicts with another", generation),
          condition("ResolvedRefs", true, "ResolvedRefs", "nothing to resolve", generation)
        )
        break
      case "Ok": {
        resources.push(bindResource(namespace, name, listener.port))
        let resolved = condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", generation)
        let accepted = condition("Accepted", true, "Accepted", "listener accepted", generation)
        if (verdict.kind === "mcp") {
          const admits = admittedNamespaces(world, namespace, listener)
          const mcp = mcpListener({ namespace, name }, listener, world.services.values(), admits, behaviour, options)
          resources.push(...mcp.resources)
          attachedRoutes = mcp.targets.length
          if (mcp.problems.length > 0) {
            resolved = condition("ResolvedRefs", false, "InvalidServices", describeProblems(mcp.problems), generation)
          }
          accepted = condition(
            "Accepted",
            true,
            "Accepted",
            mcp.targets.length === 0
              ? "listener accepted; no MCP Service is discovered yet (give a Service port appProtocol kgateway.dev/mcp in an admitted namespace)"
              : `listener accepted; serving ${mcp.targets.length} MCP target(s): ${mcp.targets.map((t) => t.targetName).join(", ")}`,
            generation
          )
        } else if (verdict.kind === "a2a") {
          const admits = admittedNamespaces(world, namespace, listener)
          const a2a = a2aListener({ namespace, name }, listener, world.services.values(), admits, options)
          resources.push(...a2a.resources)
          attachedRoutes = a2a.agents.length
          if (a2a.problems.length > 0) {
            resolved = condition("ResolvedRefs", false, "InvalidServices", describeProblems(a2a.problems), generation)
          }
          accepted = condition(
            "Accepted",
            true,
            "Accepted",
            a2a.agents.length === 0
              ? "listener accepted; no A2A Service is discovered yet (give a Service port appProtocol kgateway.dev/a2a in an admitted namespace)"
              : `listener accepted; serving ${a2a.agents.length} A2A agent(s) at ${a2a.agents.map((a) => a.prefix).join(", ")}`,
            generation
          )
        } else {
          resources.push(httpListenerResource(namespace, name, listener))
          accepted = condition("Accepted", true, "Accepted", "listener accepted; HTTPRoutes are not served yet, so it answers no requests", generation)
        }
        conditions.push(
          accepted,
          condition("Conflicted", false, "NoConflicts", "no conflicts", generation),
          condition("Programmed", false, "Pending", PENDING_MESSAGE, generation),
          resolved
        )
      }
    }
    listenerStatuses.push({ name: listener.name, supportedKinds: supportedKinds(kind), attachedRoutes, conditions })
  })

  const valid = verdicts.filter((verdict) => verdict._tag === "Ok").length
  const gatewayConditions = valid === 0
    ? [
      condition("Accepted", false, "ListenersNotValid", "no listener is valid; see the listener conditions", generation),
      condition("Programmed", false, "Invalid", "no listener is valid", generation)
    ]
    : [
      valid === verdicts.length
        ? condition("Accepted", true, "Accepted", "the Gateway is accepted", generation)
        : condition("Accepted", true, "ListenersNotValid", "some listeners are not valid; see the listener conditions", generation),
      condition("Programmed", false, "Pending", PENDING_MESSAGE, generation)
    ]
  return {
    resources: valid === 0 ? undefined : sortedUnique(resources),
    status: { conditions: gatewayConditions, listeners: listenerStatuses }
  }
}

export const translate = (world: World, options: TranslateOptions): Translation => {
  const statuses: Array<ObjectStatus> = []
  const gateways = new Map<string, ReadonlyArray<NamedResource>>()

  const ownClasses = new Map<string, { readonly gatewayClass: GatewayClass; readonly resolution: ParametersResolution }>()
  for (const gatewayClass of world.gatewayClasses.values()) {
    if (gatewayClass.spec.controllerName !== options.controllerName) continue
    const resolution = classParameters(world, gatewayClass)
    ownClasses.set(gatewayClass.metadata.name, { gatewayClass, resolution })
    const generation = gatewayClass.metadata.generation
    statuses.push({
      kind: "GatewayClass",
      name: gatewayClass.metadata.name,
      status: {
        conditions: [
          resolution._tag === "Resolved"
            ? condition("Accepted", true, "Accepted", "the GatewayClass is accepted", generation)
            : condition("Accepted", false, "InvalidParameters", resolution.message, generation)
        ]
      }
    })
  }

  const gatewayKeys = [...world.gateways.keys()].sort()
  for (const key of gatewayKeys) {
    const gateway = world.gateways.get(key)!
    const owner = ownClasses.get(gateway.spec.gatewayClassName)
    if (owner === undefined) continue
    let result: GatewayResult
    if (owner.resolution._tag === "Invalid") {
      result = rejectedGateway(
        gateway,
        "InvalidParameters",
        `GatewayClass ${owner.gatewayClass.metadata.name} is not accepted: ${owner.resolution.message}`
      )
    } else {
      const own = gatewayParameters(world, gateway, owner.resolution.layers)
      result = own._tag === "Invalid"
        ? rejectedGateway(gateway, "InvalidParameters", own.message)
        : translateGateway(world, gateway, mcpBehaviour(own.layers), options)
    }
    if (result.resources !== undefined) gateways.set(key, result.resources)
    statuses.push({ kind: "Gateway", namespace: namespaceOf(gateway.metadata), name: gateway.metadata.name, status: result.status })
  }

  return { gateways, statuses: sortStatuses(statuses) }
}
