// World → Translation: the agentgateway resources of every Gateway we own,
// and the status of every object we judged. Pure and deterministic: the same
// World gives the same output, whatever order its objects arrived in.
import type { Service } from "../api/core.ts"
import type { Gateway, GatewayClass } from "../api/gatewayApi.ts"
import { namespaceOf } from "../api/meta.ts"
import { condition, type Condition } from "./conditions.ts"
import type { DiscoveryProblem } from "./discovery.ts"
import { judgeListeners, listenerKindOf, supportedKinds } from "./listeners.ts"
import { mcpListener } from "./mcp.ts"
import { admittedServices } from "./admittedServices.ts"
import type { TranslateOptions } from "./options.ts"
import { a2aListener } from "./a2a.ts"
import { classParameters, gatewayParameters, mcpBehaviour, type ParametersResolution } from "./parameters.ts"
import { bindResource, httpListenerResource, type McpBehaviour, type NamedResource } from "./resources.ts"
import { sortStatuses, statusKey, type GatewayStatus, type ListenerStatus, type ObjectStatus } from "./status.ts"
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

/** At most this many names in a condition message (Kubernetes caps messages at 32 KiB). */
const LISTED_NAMES = 20

const listNames = (names: ReadonlyArray<string>) =>
  names.length <= LISTED_NAMES
    ? names.join(", ")
    : `${names.slice(0, LISTED_NAMES).join(", ")} and ${names.length - LISTED_NAMES} more`

interface Discovered {
  readonly resources: ReadonlyArray<NamedResource>
  readonly problems: ReadonlyArray<DiscoveryProblem>
  /** Target names or agent prefixes, for the Accepted message. */
  readonly served: ReadonlyArray<string>
}

const discoveryConditions = (
  what: "MCP target(s):" | "A2A agent(s) at",
  appProtocol: string,
  discovered: Discovered,
  generation: number | undefined
): { readonly accepted: Condition; readonly resolved: Condition } => ({
  accepted: condition(
    "Accepted",
    true,
    "Accepted",
    discovered.served.length === 0
      ? `listener accepted; no ${what.split(" ")[0]} Service is discovered yet (give a Service port appProtocol ${appProtocol} in an admitted namespace)`
      : `listener accepted; serving ${discovered.served.length} ${what} ${listNames(discovered.served)}`,
    generation
  ),
  resolved: discovered.problems.length === 0
    ? condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", generation)
    : condition("ResolvedRefs", false, "InvalidServices", describeProblems(discovered.problems), generation)
})

/** `admitted[i]` are the Services listener i admits. */
const translateGateway = (
  gateway: Gateway,
  admitted: ReadonlyArray<ReadonlyArray<Service>>,
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
        let accepted: Condition
        const services = admitted[index] ?? []
        if (verdict.kind === "mcp") {
          const mcp = mcpListener({ namespace, name }, listener, services, behaviour, options)
          resources.push(...mcp.resources)
          attachedRoutes = mcp.targets.length
          ;({ accepted, resolved } = discoveryConditions(
            "MCP target(s):",
            "kgateway.dev/mcp",
            { ...mcp, served: mcp.targets.map((t) => t.targetName) },
            generation
          ))
        } else if (verdict.kind === "a2a") {
          const a2a = a2aListener({ namespace, name }, listener, services, options)
          resources.push(...a2a.resources)
          attachedRoutes = a2a.agents.length
          ;({ accepted, resolved } = discoveryConditions(
            "A2A agent(s) at",
            "kgateway.dev/a2a",
            { ...a2a, served: a2a.agents.map((a) => a.prefix) },
            generation
          ))
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

const NO_SERVICES: ReadonlyArray<Service> = []

const sameElements = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) => a.length === b.length && a.every((x, i) => x === b[i])

const sameInputs = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) =>
  a.length === b.length &&
  a.every((x, i) => x === b[i] || (Array.isArray(x) && Array.isArray(b[i]) && sameElements(x, b[i] as ReadonlyArray<unknown>)))

/**
 * A translator that remembers each Gateway's last result with everything it was computed from
 * (the Gateway, its parameters, the options and the Services each listener admits, by identity).
 * A Gateway none of whose inputs changed gets its previous result back, the very same objects,
 * so later stages can skip it too. Results equal those of `translate`.
 */
export const makeTranslator = () => {
  const memo = new Map<string, { readonly inputs: ReadonlyArray<unknown>; readonly result: GatewayResult }>()
  // The status entries of the last pass: an object whose status did not change keeps its very
  // entry, so consumers (the store, the status writer) can skip it by identity.
  let entries = new Map<string, ObjectStatus>()
  const keepEntries = (next: ReadonlyArray<ObjectStatus>): ReadonlyArray<ObjectStatus> => {
    const kept = new Map<string, ObjectStatus>()
    const result = next.map((entry) => {
      const key = statusKey(entry)
      const previous = entries.get(key)
      const same = previous !== undefined &&
        (previous.status === entry.status || JSON.stringify(previous.status) === JSON.stringify(entry.status))
      const chosen = same ? previous : entry
      kept.set(key, chosen)
      return chosen
    })
    entries = kept
    return result
  }

  const translateValid = (world: World, key: string, gateway: Gateway, behaviour: McpBehaviour, options: TranslateOptions) => {
    const namespace = namespaceOf(gateway.metadata)
    const admitted = gateway.spec.listeners.map((listener) => {
      const kind = listenerKindOf(listener)
      return kind === "mcp" || kind === "a2a" ? admittedServices(world, namespace, listener) : NO_SERVICES
    })
    const inputs = [gateway, options, JSON.stringify(behaviour), ...admitted]
    const cached = memo.get(key)
    // Arrays of admitted Services are shared while their namespaces are unchanged; equal contents
    // in a new array (an All listener after an unrelated change) are compared element by element.
    if (cached !== undefined && sameInputs(cached.inputs, inputs)) return cached.result
    const fresh = translateGateway(gateway, admitted, behaviour, options)
    // An unchanged status stays the same object, so it is recognised by identity downstream.
    const result = cached !== undefined && JSON.stringify(cached.result.status) === JSON.stringify(fresh.status)
      ? { ...fresh, status: cached.result.status }
      : fresh
    memo.set(key, { inputs, result })
    return result
  }

  return (world: World, options: TranslateOptions): Translation => {
    const translation = translateWith(world, options, translateValid, memo)
    return { ...translation, statuses: keepEntries(translation.statuses) }
  }
}

/** World → Translation, with nothing remembered between calls. */
export const translate = (world: World, options: TranslateOptions): Translation => makeTranslator()(world, options)

const translateWith = (
  world: World,
  options: TranslateOptions,
  translateValid: (world: World, key: string, gateway: Gateway, behaviour: McpBehaviour, options: TranslateOptions) => GatewayResult,
  memo: Map<string, unknown>
): Translation => {
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
        : translateValid(world, key, gateway, mcpBehaviour(own.layers), options)
    }
    if (result.resources !== undefined) gateways.set(key, result.resources)
    statuses.push({ kind: "Gateway", namespace: namespaceOf(gateway.metadata), name: gateway.metadata.name, status: result.status })
  }

  // Forget Gateways that are gone (or no longer ours).
  for (const key of memo.keys()) if (!gateways.has(key)) memo.delete(key)
  return { gateways, statuses: sortStatuses(statuses) }
}
