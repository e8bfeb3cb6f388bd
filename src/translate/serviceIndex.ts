// Services by namespace, and the Services each listener admits. Built once
// per World so that a listener costs what it admits, not what the cluster holds.
import type { Service } from "../api/core.ts"
import type { Listener } from "../api/gatewayApi.ts"
import { namespaceOf } from "../api/meta.ts"
import { matchesSelector, namespaceLabels } from "./namespaces.ts"
import type { World } from "./world.ts"

export interface ServiceIndex {
  readonly all: ReadonlyArray<Service>
  readonly byNamespace: ReadonlyMap<string, ReadonlyArray<Service>>
}

const indexes = new WeakMap<ReadonlyMap<string, Service>, ServiceIndex>()

export const serviceIndex = (world: World): ServiceIndex => {
  const cached = indexes.get(world.services)
  if (cached !== undefined) return cached
  const byNamespace = new Map<string, Array<Service>>()
  for (const service of world.services.values()) {
    const namespace = namespaceOf(service.metadata)
    const list = byNamespace.get(namespace)
    if (list === undefined) byNamespace.set(namespace, [service])
    else list.push(service)
  }
  const index: ServiceIndex = { all: [...world.services.values()], byNamespace }
  indexes.set(world.services, index)
  return index
}

const NONE: ReadonlyArray<Service> = []

/** The Services in the namespaces a listener admits (`allowedRoutes.namespaces`, default Same). */
export const admittedServices = (
  world: World,
  index: ServiceIndex,
  gatewayNamespace: string,
  listener: Listener
): ReadonlyArray<Service> => {
  const from = listener.allowedRoutes?.namespaces?.from ?? "Same"
  switch (from) {
    case "All":
      return index.all
    case "Same":
      return index.byNamespace.get(gatewayNamespace) ?? NONE
    case "Selector": {
      const selector = listener.allowedRoutes?.namespaces?.selector ?? {}
      const admitted: Array<Service> = []
      for (const [namespace, services] of index.byNamespace) {
        if (matchesSelector(selector, namespaceLabels(world, namespace))) admitted.push(...services)
      }
      return admitted
    }
  }
}
