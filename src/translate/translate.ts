// World → Translation: the agentgateway resources of every Gateway we own,
// and the status of every object we judged. Pure and deterministic: the same
// World gives the same output, whatever order its objects arrived in.
import type { Service } from "../api/core.ts"
import type { Gateway, GatewayClass } from "../api/gatewayApi.ts"
import { namespaceOf } from "../api/meta.ts"
import { describeServiceProblems, listNames } from "./conditionMessages.ts"
import { condition, type Condition } from "./conditions.ts"
import type { DiscoveryProblem } from "./discovery.ts"
import { judgeListeners, listenerKindOf, supportedKinds } from "./listeners.ts"
import { mcpListener } from "./mcp.ts"
import { admittedServices } from "./admittedServices.ts"
import type { TranslateOptions } from "./options.ts"
import { a2aListener } from "./a2a.ts"
import { classParameters, gatewayParameters, mcpBehaviour, type ParametersResolution } from "./parameters.ts"
import { makePolicyTranslator, NO_POLICY_RESOURCES, type PoliciesTranslation } from "./policies/policies.ts"
import { bindResource, httpListenerResource, type McpBehaviour, type NamedResource } from "./resources.ts"
import { sortStatuses, statusKey, type GatewayStatus, type ListenerStatus, type ObjectStatus } from "./status.ts"
import type { World } from "../world/world.ts"

export interface Translation {
  /** Resources per Gateway (`namespace/name`), sorted by xDS name, without duplicates. */
  readonly gateways: ReadonlyMap<string, ReadonlyArray<NamedResource>>
  readonly statuses: ReadonlyArray<ObjectStatus>
}

export const PENDING_MESSAGE = "configuration is valid; waiting for a proxy of this Gateway to acknowledge it"

const sortedUnique = (resources: ReadonlyArray<NamedResource>): ReadonlyArray<NamedResource> => {
  const byName = new Map<string, NamedResource>()
  for (const resource of resources) byName.set(resource.name, resource)
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

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
  resolved:
    discovered.problems.length === 0
      ? condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", generation)
      : condition("ResolvedRefs", false, "InvalidServices", describeServiceProblems(discovered.problems), generation)
})

/** `admitted[i]` are the Services listener i admits. */
const translateGateway = (
  gateway: Gateway,
  admitted: ReadonlyArray<ReadonlyArray<Service>>,
  behaviour: McpBehaviour,
  options: TranslateOptions,
  policies: ReadonlyArray<NamedResource>
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
  const gatewayConditions =
    valid === 0
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
    resources: valid === 0 ? undefined : sortedUnique([...resources, ...policies]),
    status: { conditions: gatewayConditions, listeners: listenerStatuses }
  }
}

const NO_SERVICES: ReadonlyArray<Service> = []

const sameElements = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) => a.length === b.length && a.every((x, i) => x === b[i])

const sameInputs = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) =>
  a.length === b.length && a.every((x, i) => x === b[i] || (Array.isArray(x) && Array.isArray(b[i]) && sameElements(x, b[i] as ReadonlyArray<unknown>)))

type TranslateValid = (
  world: World,
  key: string,
  gateway: Gateway,
  behaviour: McpBehaviour,
  options: TranslateOptions,
  policies: ReadonlyArray<NamedResource>
) => GatewayResult

/** Which Gateways a change to one namespace's Services can touch. */
interface Reach {
  /** Gateways whose listeners all admit only their own namespace, by that namespace. */
  readonly sameNamespace: ReadonlyMap<string, ReadonlyArray<string>>
  /** Gateways with a listener that admits other namespaces (All or Selector). */
  readonly crossNamespace: ReadonlyArray<string>
}

const reachOf = (world: World): Reach => {
  const sameNamespace = new Map<string, Array<string>>()
  const crossNamespace: Array<string> = []
  for (const [key, gateway] of world.gateways) {
    const onlyOwn = gateway.spec.listeners.every((listener) => (listener.allowedRoutes?.namespaces?.from ?? "Same") === "Same")
    if (!onlyOwn) crossNamespace.push(key)
    else {
      const namespace = namespaceOf(gateway.metadata)
      const list = sameNamespace.get(namespace)
      if (list === undefined) sameNamespace.set(namespace, [key])
      else list.push(key)
    }
  }
  return { sameNamespace, crossNamespace }
}

/** True when two Worlds hold the very same objects of every kind but Services. */
const onlyServicesDiffer = (a: World, b: World) => (Object.keys(a) as Array<keyof World>).every((field) => field === "services" || a[field] === b[field])

/** Namespaces whose Services differ (partitions are shared while a namespace is untouched). */
const changedNamespaces = (before: World, after: World): ReadonlyArray<string> => {
  const changed: Array<string> = []
  for (const [namespace, partition] of after.services.partitions) {
    if (before.services.partitions.get(namespace) !== partition) changed.push(namespace)
  }
  for (const namespace of before.services.partitions.keys()) {
    if (!after.services.partitions.has(namespace)) changed.push(namespace)
  }
  return changed
}

/**
 * A translator that remembers each Gateway's last result with everything it was computed from
 * (the Gateway, its parameters, the options and the Services each listener admits, by identity).
 * A Gateway none of whose inputs changed gets its previous result back, the very same objects,
 * so later stages can skip it too. When only Services changed, only the Gateways that can admit
 * them are looked at, so a change costs what it touches however many Gateways there are.
 * Results equal those of `translate`.
 */
export const makeTranslator = () => {
  const memo = new Map<string, { readonly inputs: ReadonlyArray<unknown>; readonly result: GatewayResult }>()
  const translatePolicies = makePolicyTranslator()
  const sameStatus = (previous: ObjectStatus | undefined, entry: ObjectStatus): previous is ObjectStatus =>
    previous !== undefined && (previous.status === entry.status || JSON.stringify(previous.status) === JSON.stringify(entry.status))

  /** The last pass: its input, its output and where each status entry sits. */
  let last:
    | {
        readonly world: World
        readonly options: TranslateOptions
        readonly translation: Translation
        readonly reach: Reach
        readonly statusIndex: ReadonlyMap<string, number>
        readonly policies: PoliciesTranslation
      }
    | undefined

  /**
   * An object whose status did not change keeps its very entry from the last pass, so consumers
   * (the store, the status writer) can skip it by identity.
   */
  const keepEntries = (next: ReadonlyArray<ObjectStatus>): ReadonlyArray<ObjectStatus> => {
    if (last === undefined) return next
    const { statusIndex, translation } = last
    return next.map((entry) => {
      const index = statusIndex.get(statusKey(entry))
      const previous = index === undefined ? undefined : translation.statuses[index]
      return sameStatus(previous, entry) ? previous : entry
    })
  }

  const translateValid: TranslateValid = (world, key, gateway, behaviour, options, policies) => {
    const namespace = namespaceOf(gateway.metadata)
    const admitted = gateway.spec.listeners.map((listener) => {
      const kind = listenerKindOf(listener)
      return kind === "mcp" || kind === "a2a" ? admittedServices(world, namespace, listener) : NO_SERVICES
    })
    // The policies that reach this Gateway are one more array compared element by element.
    const inputs = [gateway, options, JSON.stringify(behaviour), policies, ...admitted]
    const cached = memo.get(key)
    // Arrays of admitted Services are shared while their namespaces are unchanged; equal contents
    // in a new array (an All listener after an unrelated change) are compared element by element.
    if (cached !== undefined && sameInputs(cached.inputs, inputs)) return cached.result
    const fresh = translateGateway(gateway, admitted, behaviour, options, policies)
    // An unchanged status stays the same object, so it is recognised by identity downstream.
    const result =
      cached !== undefined && JSON.stringify(cached.result.status) === JSON.stringify(fresh.status) ? { ...fresh, status: cached.result.status } : fresh
    memo.set(key, { inputs, result })
    return result
  }

  const fullPass = (world: World, options: TranslateOptions): Translation => {
    const policies = translatePolicies(world, options)
    const translated = translateWith(world, options, translateValid, memo, policies)
    const translation = { ...translated, statuses: keepEntries(translated.statuses) }
    last = {
      world,
      options,
      translation,
      reach: reachOf(world),
      policies,
      statusIndex: new Map(translation.statuses.map((entry, index) => [statusKey(entry), index]))
    }
    return translation
  }

  return (world: World, options: TranslateOptions): Translation => {
    if (last === undefined || last.options !== options || !onlyServicesDiffer(last.world, world)) return fullPass(world, options)
    const previous = last
    const touched = new Set(previous.reach.crossNamespace)
    for (const namespace of changedNamespaces(previous.world, world)) {
      // Remote JWKS are fetched through Services: their change can change any policy, so start over.
      if (previous.policies.jwksNamespaces.has(namespace)) return fullPass(world, options)
      for (const key of previous.reach.sameNamespace.get(namespace) ?? []) touched.add(key)
    }
    const owners = ownClassesOf(world, options)
    let gateways: Map<string, ReadonlyArray<NamedResource>> | undefined
    let statuses: Array<ObjectStatus> | undefined
    for (const key of touched) {
      const gateway = world.gateways.get(key)!
      const result = gatewayResult(world, key, gateway, owners, options, translateValid, previous.policies)
      if (result === undefined) continue
      const before = previous.translation.gateways.get(key)
      // Whether a Gateway has resources at all does not depend on Services; if it did, start over.
      if ((before === undefined) !== (result.resources === undefined)) return fullPass(world, options)
      if (result.resources !== undefined && result.resources !== before) {
        gateways ??= new Map(previous.translation.gateways)
        gateways.set(key, result.resources)
      }
      const entry = gatewayEntry(gateway, result.status)
      const index = previous.statusIndex.get(statusKey(entry))
      if (index === undefined) return fullPass(world, options)
      const old = previous.translation.statuses[index]!
      if (sameStatus(old, entry)) continue
      statuses ??= [...previous.translation.statuses]
      statuses[index] = entry
    }
    const translation =
      gateways === undefined && statuses === undefined
        ? previous.translation
        : { gateways: gateways ?? previous.translation.gateways, statuses: statuses ?? previous.translation.statuses }
    last = { ...previous, world, translation }
    return translation
  }
}

/** World → Translation, with nothing remembered between calls. */
export const translate = (world: World, options: TranslateOptions): Translation => makeTranslator()(world, options)

type OwnClasses = ReadonlyMap<string, { readonly gatewayClass: GatewayClass; readonly resolution: ParametersResolution }>

/** The GatewayClasses this controller owns, with their parameters resolved. */
const ownClassesOf = (world: World, options: TranslateOptions): OwnClasses => {
  const owners = new Map<string, { readonly gatewayClass: GatewayClass; readonly resolution: ParametersResolution }>()
  for (const gatewayClass of world.gatewayClasses.values()) {
    if (gatewayClass.spec.controllerName !== options.controllerName) continue
    owners.set(gatewayClass.metadata.name, { gatewayClass, resolution: classParameters(world, gatewayClass) })
  }
  return owners
}

const classEntry = (gatewayClass: GatewayClass, resolution: ParametersResolution): ObjectStatus => {
  const generation = gatewayClass.metadata.generation
  return {
    kind: "GatewayClass",
    name: gatewayClass.metadata.name,
    status: {
      conditions: [
        resolution._tag === "Resolved"
          ? condition("Accepted", true, "Accepted", "the GatewayClass is accepted", generation)
          : condition("Accepted", false, "InvalidParameters", resolution.message, generation)
      ]
    }
  }
}

const gatewayEntry = (gateway: Gateway, status: GatewayStatus): ObjectStatus => ({
  kind: "Gateway",
  namespace: namespaceOf(gateway.metadata),
  name: gateway.metadata.name,
  status
})

/** One Gateway's result, or undefined when its class is not ours. */
const gatewayResult = (
  world: World,
  key: string,
  gateway: Gateway,
  owners: OwnClasses,
  options: TranslateOptions,
  translateValid: TranslateValid,
  policies: PoliciesTranslation
): GatewayResult | undefined => {
  const owner = owners.get(gateway.spec.gatewayClassName)
  if (owner === undefined) return undefined
  if (owner.resolution._tag === "Invalid") {
    return rejectedGateway(gateway, "InvalidParameters", `GatewayClass ${owner.gatewayClass.metadata.name} is not accepted: ${owner.resolution.message}`)
  }
  const own = gatewayParameters(world, gateway, owner.resolution.layers)
  return own._tag === "Invalid"
    ? rejectedGateway(gateway, "InvalidParameters", own.message)
    : translateValid(world, key, gateway, mcpBehaviour(own.layers), options, policies.byGateway.get(key) ?? NO_POLICY_RESOURCES)
}

const translateWith = (
  world: World,
  options: TranslateOptions,
  translateValid: TranslateValid,
  memo: Map<string, unknown>,
  policies: PoliciesTranslation
): Translation => {
  const statuses: Array<ObjectStatus> = []
  const gateways = new Map<string, ReadonlyArray<NamedResource>>()
  const owners = ownClassesOf(world, options)
  for (const { gatewayClass, resolution } of owners.values()) statuses.push(classEntry(gatewayClass, resolution))
  for (const key of [...world.gateways.keys()].sort()) {
    const gateway = world.gateways.get(key)!
    const result = gatewayResult(world, key, gateway, owners, options, translateValid, policies)
    if (result === undefined) continue
    if (result.resources !== undefined) gateways.set(key, result.resources)
    statuses.push(gatewayEntry(gateway, result.status))
  }
  // Forget Gateways that are gone (or no longer ours).
  for (const key of memo.keys()) if (!gateways.has(key)) memo.delete(key)
  statuses.push(...policies.statuses)
  return { gateways, statuses: sortStatuses(statuses) }
}
