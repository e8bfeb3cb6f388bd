// The Services each listener admits, as arrays shared for as long as their
// namespace does not change, so that a listener costs what it admits.
import type { Service } from "../api/core.ts"
import type { Listener } from "../api/gatewayApi.ts"
import { matchesSelector, namespaceLabels } from "./namespaces.ts"
import type { ServicesByNamespace } from "../world/servicesByNamespace.ts"
import type { World } from "../world/world.ts"

const NONE: ReadonlyArray<Service> = []

/** Arrays per namespace partition: an unchanged namespace gives the very same array. */
const namespaceLists = new WeakMap<ReadonlyMap<string, Service>, ReadonlyArray<Service>>()
const allLists = new WeakMap<ServicesByNamespace, ReadonlyArray<Service>>()

export const servicesIn = (world: World, namespace: string): ReadonlyArray<Service> => {
  const partition = world.services.partitions.get(namespace)
  if (partition === undefined) return NONE
  let list = namespaceLists.get(partition)
  if (list === undefined) {
    list = [...partition.values()]
    namespaceLists.set(partition, list)
  }
  return list
}

const allServices = (world: World): ReadonlyArray<Service> => {
  let list = allLists.get(world.services)
  if (list === undefined) {
    list = [...world.services.values()]
    allLists.set(world.services, list)
  }
  return list
}

/** The Services in the namespaces a listener admits (`allowedRoutes.namespaces`, default Same). */
export const admittedServices = (world: World, gatewayNamespace: string, listener: Listener): ReadonlyArray<Service> => {
  const from = listener.allowedRoutes?.namespaces?.from ?? "Same"
  switch (from) {
    case "All":
      return allServices(world)
    case "Same":
      return servicesIn(world, gatewayNamespace)
    case "Selector": {
      const selector = listener.allowedRoutes?.namespaces?.selector ?? {}
      const admitted: Array<Service> = []
      for (const namespace of world.services.partitions.keys()) {
        if (matchesSelector(selector, namespaceLabels(world, namespace))) admitted.push(...servicesIn(world, namespace))
      }
      return admitted
    }
  }
}
