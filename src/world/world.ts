// The World: every decoded input object, by kind and key. Sources build it;
// the translator reads it and nothing else.
import type { AgentgatewayPolicy } from "../api/agentgatewayPolicy.ts"
import type { Namespace, Secret, Service } from "../api/core.ts"
import type { Gateway, GatewayClass } from "../api/gatewayApi.ts"
import type { GatewayParameters } from "../api/gatewayParameters.ts"
import { keyOf } from "../api/meta.ts"
import type { InputObject } from "../api/objects.ts"
import { noJwksKeySets, type JwksKeySets } from "./jwksKeySets.ts"
import { ServicesByNamespace } from "./servicesByNamespace.ts"

export interface World {
  /** by name (cluster-scoped) */
  readonly gatewayClasses: ReadonlyMap<string, GatewayClass>
  /** by `namespace/name` */
  readonly gateways: ReadonlyMap<string, Gateway>
  readonly gatewayParameters: ReadonlyMap<string, GatewayParameters>
  /** by `namespace/name`, partitioned by namespace */
  readonly services: ServicesByNamespace
  /** by name (cluster-scoped) */
  readonly namespaces: ReadonlyMap<string, Namespace>
  /** Remote JWKS fetched for policies, by request key (not an object kind: the JWKS fetcher adds them). */
  readonly jwksKeySets: JwksKeySets
  /** by `namespace/name` */
  readonly agentgatewayPolicies: ReadonlyMap<string, AgentgatewayPolicy>
  /** by `namespace/name`; only the ones policies reference matter, and their values never leave the translator */
  readonly secrets: ReadonlyMap<string, Secret>
}

export const emptyWorld: World = {
  gatewayClasses: new Map(),
  gateways: new Map(),
  gatewayParameters: new Map(),
  services: ServicesByNamespace.from([]),
  namespaces: new Map(),
  jwksKeySets: noJwksKeySets,
  agentgatewayPolicies: new Map(),
  secrets: new Map()
}

/** Identity of an object inside a World, as `Kind/namespace/name` or `Kind/name`. */
export const objectId = (object: InputObject): string =>
  object.kind === "GatewayClass" || object.kind === "Namespace" ? `${object.kind}/${object.metadata.name}` : `${object.kind}/${keyOf(object.metadata)}`

/** Builds a World; a later object with the same identity replaces an earlier one. */
export const worldFromObjects = (objects: Iterable<InputObject>): World => {
  const gatewayClasses = new Map<string, GatewayClass>()
  const gateways = new Map<string, Gateway>()
  const gatewayParameters = new Map<string, GatewayParameters>()
  const services = new Map<string, Service>()
  const namespaces = new Map<string, Namespace>()
  const agentgatewayPolicies = new Map<string, AgentgatewayPolicy>()
  const secrets = new Map<string, Secret>()
  for (const object of objects) {
    switch (object.kind) {
      case "GatewayClass":
        gatewayClasses.set(object.metadata.name, object)
        break
      case "Namespace":
        namespaces.set(object.metadata.name, object)
        break
      case "Gateway":
        gateways.set(keyOf(object.metadata), object)
        break
      case "GatewayParameters":
        gatewayParameters.set(keyOf(object.metadata), object)
        break
      case "Service":
        services.set(keyOf(object.metadata), object)
        break
      case "AgentgatewayPolicy":
        agentgatewayPolicies.set(keyOf(object.metadata), object)
        break
      case "Secret":
        secrets.set(keyOf(object.metadata), object)
        break
    }
  }
  return {
    gatewayClasses,
    gateways,
    gatewayParameters,
    services: ServicesByNamespace.from(services),
    namespaces,
    jwksKeySets: noJwksKeySets,
    agentgatewayPolicies,
    secrets
  }
}
