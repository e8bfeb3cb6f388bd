// Merges what the proxies acknowledged into the translator's statuses: a
// valid Gateway is Pending until one of its proxies holds every current
// resource version, then Programmed. Refused resources are named.
import { condition, type Condition } from "../translate/conditions.ts"
import { listenerKey } from "../translate/names.ts"
import { gatewayKeyOf, type GatewayStatus, type ObjectStatus } from "../translate/status.ts"
import type { ConnectedProxy } from "./dataPlane.ts"
import { type GatewayView, RESOURCE_TYPE_URL, resourcesOf, type Snapshot } from "./snapshot.ts"

const replace = (conditions: ReadonlyArray<Condition>, next: Condition): ReadonlyArray<Condition> => conditions.map((c) => (c.type === next.type ? next : c))

const isPending = (conditions: ReadonlyArray<Condition>) => conditions.some((c) => c.type === "Programmed" && c.reason === "Pending")

const generationOf = (conditions: ReadonlyArray<Condition>) => conditions.find((c) => c.type === "Programmed")?.observedGeneration

/** The proxies connected for each gateway (`namespace/name`). */
export const proxiesByGateway = (proxies: ReadonlyArray<ConnectedProxy>): ReadonlyMap<string, ReadonlyArray<ConnectedProxy>> => {
  const byGateway = new Map<string, Array<ConnectedProxy>>()
  for (const proxy of proxies) {
    const list = byGateway.get(proxy.gateway)
    if (list === undefined) byGateway.set(proxy.gateway, [proxy])
    else list.push(proxy)
  }
  return byGateway
}

const NO_PROXIES: ReadonlyArray<ConnectedProxy> = []

export const withDataPlane = (
  statuses: ReadonlyArray<ObjectStatus>,
  snapshot: Snapshot,
  proxies: ReadonlyArray<ConnectedProxy>
): ReadonlyArray<ObjectStatus> => {
  const byGateway = proxiesByGateway(proxies)
  return statuses.map((entry) => {
    if (entry.kind !== "Gateway") return entry
    const gateway = gatewayKeyOf(entry)
    return gatewayWithDataPlane(entry, snapshot.gateways.get(gateway), byGateway.get(gateway) ?? NO_PROXIES)
  })
}

/** One Gateway's status given its configuration (`view`) and its own connected proxies. */
export const gatewayWithDataPlane = (entry: ObjectStatus, view: GatewayView | undefined, own: ReadonlyArray<ConnectedProxy>): ObjectStatus => {
  if (entry.kind !== "Gateway" || !("listeners" in entry.status)) return entry
  const status = entry.status as GatewayStatus
  if (!isPending(status.conditions)) return entry
  const namespace = (entry as { namespace: string }).namespace
  const generation = generationOf(status.conditions)
  if (own.length === 0) return entry
  const desired = resourcesOf(view ?? new Map(), RESOURCE_TYPE_URL)
  const wanted = [...desired.values()]
  const inSync = own.filter((proxy) => wanted.every((r) => proxy.confirmed.get(r.name) === r.version || proxy.refused.get(r.name)?.has(r.version) === true))
  if (inSync.length === 0) {
    return {
      ...entry,
      status: {
        ...status,
        conditions: replace(
          status.conditions,
          condition("Programmed", false, "Pending", `${own.length} proxy(ies) connected; waiting for them to acknowledge the configuration`, generation)
        )
      }
    }
  }
  const refused = new Map<string, string>()
  for (const proxy of inSync) {
    for (const [name, versions] of proxy.refused) {
      const message = versions.get(desired.get(name)?.version ?? "")
      if (message !== undefined) refused.set(name, message)
    }
  }
  const refusedText = [...refused].map(([name, message]) => `${name}: ${message}`).join("; ")
  const programmed = condition(
    "Programmed",
    true,
    "Programmed",
    `acknowledged by ${inSync.length} of ${own.length} connected proxy(ies)` +
      (refused.size === 0 ? "" : `; the proxy refused ${refused.size} resource(s): ${refusedText}`),
    generation
  )
  const updated: ObjectStatus = {
    kind: "Gateway",
    namespace,
    name: entry.name,
    status: {
      conditions: replace(status.conditions, programmed),
      listeners: status.listeners.map((listener) => {
        if (!isPending(listener.conditions)) return listener
        const key = listenerKey(namespace, entry.name, listener.name)
        const mine = [...refused].filter(([name]) => name.includes(`/${key}`) || name.includes(`/${key}.`))
        let conditions = replace(listener.conditions, condition("Programmed", true, "Programmed", "acknowledged by the proxy", generation))
        if (mine.length > 0) {
          conditions = replace(
            conditions,
            condition(
              "ResolvedRefs",
              false,
              "RejectedByProxy",
              `the proxy refused ${mine.map(([name, message]) => `${name}: ${message}`).join("; ")}`,
              generation
            )
          )
        }
        return { ...listener, conditions }
      })
    }
  }
  return updated
}
