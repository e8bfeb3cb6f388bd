// An A2A listener: every A2A Service port it admits is reachable under
// `/<namespace>/<service>` (plus `/<port>` when the Service has several),
// rewritten to the agent's own base path, with the `a2a` backend policy so
// the proxy rewrites agent-card URLs to the gateway's.
import type { Service } from "../api/core.ts"
import type { Listener } from "../api/gatewayApi.ts"
import { Resource } from "../gen/agentgateway/resource.ts"
import { discoverService, type BackendProtocol, type DiscoveredBackend, type DiscoveryProblem } from "./discovery.ts"
import { a2aRouteKey, listenerKey, xdsName } from "./names.ts"
import type { TranslateOptions } from "./options.ts"
import { httpListenerResource, staticBackendResource, type NamedResource } from "./resources.ts"

export interface A2aAgent {
  readonly backend: DiscoveredBackend
  /** Path prefix under which the gateway serves the agent. */
  readonly prefix: string
}

export interface A2aListener {
  readonly resources: ReadonlyArray<NamedResource>
  readonly agents: ReadonlyArray<A2aAgent>
  readonly problems: ReadonlyArray<DiscoveryProblem>
}

const A2A_PROTOCOLS: ReadonlySet<BackendProtocol> = new Set(["a2a"])

export const agentPrefix = (backend: DiscoveredBackend): string =>
  backend.onePortOfSeveral ? `/${backend.namespace}/${backend.service}/${backend.portId}` : `/${backend.namespace}/${backend.service}`

const agentRoute = (gateway: { readonly namespace: string; readonly name: string }, listener: Listener, agent: A2aAgent): NamedResource => {
  const key = a2aRouteKey(gateway.namespace, gateway.name, listener.name, agent.backend.backendKey)
  return {
    name: xdsName("route", key),
    resource: Resource.fromPartial({
      kind: {
        $case: "route",
        value: {
          key,
          listenerKey: listenerKey(gateway.namespace, gateway.name, listener.name),
          name: { kind: "Service", name: agent.backend.service, namespace: agent.backend.namespace, ruleName: agent.backend.portId },
          matches: [{ path: { kind: { $case: "pathPrefix", value: agent.prefix } } }],
          backends: [
            {
              backend: { kind: { $case: "backend", value: agent.backend.backendKey } },
              weight: 1,
              backendPolicies: [{ kind: { $case: "a2a", value: {} } }]
            }
          ],
          trafficPolicies: [{ kind: { $case: "urlRewrite", value: { host: "", path: { $case: "prefix", value: agent.backend.path } } } }]
        }
      }
    })
  }
}

export const a2aListener = (
  gateway: { readonly namespace: string; readonly name: string },
  listener: Listener,
  services: ReadonlyArray<Service>,
  options: TranslateOptions
): A2aListener => {
  const agents: Array<A2aAgent> = []
  const problems: Array<DiscoveryProblem> = []
  for (const service of services) {
    const discovery = discoverService(service, A2A_PROTOCOLS, options)
    for (const backend of discovery.backends) agents.push({ backend, prefix: agentPrefix(backend) })
    problems.push(...discovery.problems)
  }
  agents.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0))
  return {
    resources: [
      httpListenerResource(gateway.namespace, gateway.name, listener),
      ...agents.map((agent) => agentRoute(gateway, listener, agent)),
      ...agents.map((agent) => staticBackendResource(agent.backend))
    ],
    agents,
    problems
  }
}
