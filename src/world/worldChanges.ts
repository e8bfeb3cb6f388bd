// A new World from an old one and the objects that changed. Kinds without
// changes keep their Map; Services change only in the namespaces touched.
import type { Service } from "../api/core.ts"
import { keyOf } from "../api/meta.ts"
import type { InputObject } from "../api/objects.ts"
import type { World } from "./world.ts"

type Field = keyof World

const fieldOf = (object: InputObject): Field => {
  switch (object.kind) {
    case "GatewayClass":
      return "gatewayClasses"
    case "Gateway":
      return "gateways"
    case "GatewayParameters":
      return "gatewayParameters"
    case "Service":
      return "services"
    case "Namespace":
      return "namespaces"
    case "AgentgatewayPolicy":
      return "agentgatewayPolicies"
    case "Secret":
      return "secrets"
  }
}

const keyWithin = (object: InputObject) => (object.kind === "GatewayClass" || object.kind === "Namespace" ? object.metadata.name : keyOf(object.metadata))

export interface WorldChange {
  readonly before: InputObject | undefined
  readonly after: InputObject | undefined
}

export const withChanges = (world: World, changes: Iterable<WorldChange>): World => {
  const next: { -readonly [K in Field]: World[K] } = { ...world }
  const copied = new Set<Field>()
  const writable = (field: Exclude<Field, "services">) => {
    if (!copied.has(field)) {
      next[field] = new Map(next[field] as Map<string, never>) as never
      copied.add(field)
    }
    return next[field] as unknown as Map<string, InputObject>
  }
  const services: Array<readonly [string, Service | undefined]> = []
  for (const { after, before } of changes) {
    if (before === after) continue
    if (before !== undefined) {
      const field = fieldOf(before)
      if (field === "services") services.push([keyWithin(before), undefined])
      else writable(field).delete(keyWithin(before))
    }
    if (after !== undefined) {
      const field = fieldOf(after)
      if (field === "services") services.push([keyWithin(after), after as Service])
      else writable(field).set(keyWithin(after), after)
    }
  }
  if (services.length > 0) {
    next.services = world.services.with(services)
    copied.add("services")
  }
  return copied.size === 0 ? world : next
}
