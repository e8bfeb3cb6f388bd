// Gateway status for the proxies agentplane runs itself: the Gateway's
// addresses come from its Service, and Programmed also needs the Deployment
// to have an available replica (and a load balancer its address).
import type { Service } from "../api/core.ts"
import { condition, type Condition } from "../translate/conditions.ts"
import { gatewayKeyOf, type GatewayAddress, type GatewayStatus, type ObjectStatus } from "../translate/status.ts"
import type { ManagedGateway } from "./deployer.ts"
import { FIELD_MANAGER, LABEL_MANAGED_BY } from "./managedObjects.ts"

const IPV4_OR_IPV6 = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/

/** A load balancer's ingress points, or the cluster IP of any other Service type. */
export const serviceAddresses = (service: Service | undefined): ReadonlyArray<GatewayAddress> => {
  if (service === undefined || service.metadata.labels?.[LABEL_MANAGED_BY] !== FIELD_MANAGER) return []
  if (service.spec.type === "LoadBalancer") {
    return (service.status?.loadBalancer?.ingress ?? []).flatMap(
      (ingress): Array<GatewayAddress> =>
        ingress.ip !== undefined
          ? [{ type: "IPAddress", value: ingress.ip }]
          : ingress.hostname !== undefined
            ? [{ type: IPV4_OR_IPV6.test(ingress.hostname) ? "IPAddress" : "Hostname", value: ingress.hostname }]
            : []
    )
  }
  const ip = service.spec.clusterIP
  return ip === undefined || ip === "" || ip === "None" ? [] : [{ type: "IPAddress", value: ip }]
}

const programmedOf = (conditions: ReadonlyArray<Condition>) => conditions.find((c) => c.type === "Programmed")

const replace = (conditions: ReadonlyArray<Condition>, next: Condition): ReadonlyArray<Condition> => conditions.map((c) => (c.type === next.type ? next : c))

/** Why a managed Gateway is not programmed yet, from its Deployment and Service; undefined when they are ready. */
const infrastructureVerdict = (
  key: string,
  managed: ManagedGateway,
  service: Service | undefined,
  addresses: ReadonlyArray<GatewayAddress>
): { readonly reason: string; readonly message: string } | undefined => {
  if (managed.problem !== undefined) return { reason: "Invalid", message: managed.problem }
  const deployment = managed.deployment
  if (deployment === undefined) return { reason: "Pending", message: `waiting for Deployment ${key} of the proxy to be created` }
  if (deployment.replicas === 0) {
    return { reason: "NoResources", message: `Deployment ${key} is scaled to 0 replicas (spec.kube.agentgateway.replicas)` }
  }
  if (deployment.availableReplicas === 0) {
    return { reason: "Pending", message: `Deployment ${key} has no available replica yet (0 of ${deployment.replicas})` }
  }
  if (service?.spec.type === "LoadBalancer" && addresses.length === 0) {
    return { reason: "AddressNotAssigned", message: `Service ${key} of type LoadBalancer has no address yet` }
  }
  return undefined
}

/** One Gateway's status given its managed proxy's state (undefined: not managed) and the proxy's Service. */
export const gatewayWithManagedProxy = (entry: ObjectStatus, state: ManagedGateway | undefined, service: Service | undefined): ObjectStatus => {
  if (entry.kind !== "Gateway" || !("listeners" in entry.status)) return entry
  if (state === undefined) return entry
  const key = gatewayKeyOf(entry)
  const status = entry.status as GatewayStatus
  const programmed = programmedOf(status.conditions)
  // A Gateway the translator refused stays as it is: its proxy has nothing to run.
  if (programmed === undefined || programmed.reason === "Invalid") return entry
  const addresses = serviceAddresses(service)
  const verdict = infrastructureVerdict(key, state, service, addresses)
  const generation = programmed.observedGeneration
  const next =
    verdict !== undefined
      ? condition("Programmed", false, verdict.reason, verdict.message, generation)
      : programmed.status === "True"
        ? {
            ...programmed,
            message: `${programmed.message}; Deployment ${key}: ${state.deployment!.availableReplicas} of ${state.deployment!.replicas} replica(s) available`
          }
        : programmed
  const updated: ObjectStatus = {
    kind: "Gateway",
    namespace: (entry as { namespace: string }).namespace,
    name: entry.name,
    status: { ...status, conditions: replace(status.conditions, next), addresses }
  }
  return updated
}
