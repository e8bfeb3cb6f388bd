// An MCP listener: one route to one multiplexing MCP backend whose targets
// are every MCP Service port the listener admits.
import type { Service } from "../api/core.ts"
import type { Listener } from "../api/gatewayApi.ts"
import { Resource } from "../gen/agentgateway/resource.ts"
import { discoverService, type BackendProtocol, type DiscoveredBackend, type DiscoveryProblem } from "./discovery.ts"
import { listenerKey, mcpBackendKey, mcpRouteKey, xdsName } from "./names.ts"
import type { TranslateOptions } from "./options.ts"
import { httpListenerResource, mcpTarget, staticBackendResource, type McpBehaviour, type NamedResource } from "./resources.ts"

export interface McpListener {
  readonly resources: ReadonlyArray<NamedResource>
  readonly targets: ReadonlyArray<DiscoveredBackend>
  readonly problems: ReadonlyArray<DiscoveryProblem>
}

const MCP_PROTOCOLS: ReadonlySet<BackendProtocol> = new Set(["mcp", "mcp-sse"])

const byTargetName = (a: DiscoveredBackend, b: DiscoveredBackend) => (a.targetName < b.targetName ? -1 : a.targetName > b.targetName ? 1 : 0)

/** `services` are the ones the listener admits. */
export const mcpListener = (
  gateway: { readonly namespace: string; readonly name: string },
  listener: Listener,
  services: ReadonlyArray<Service>,
  behaviour: McpBehaviour,
  options: TranslateOptions
): McpListener => {
  const targets: Array<DiscoveredBackend> = []
  const problems: Array<DiscoveryProblem> = []
  for (const service of services) {
    const discovery = discoverService(service, MCP_PROTOCOLS, options)
    targets.push(...discovery.backends)
    problems.push(...discovery.problems)
  }
  targets.sort(byTargetName)

  const routeKey = mcpRouteKey(gateway.namespace, gateway.name, listener.name)
  const backendKey = mcpBackendKey(gateway.namespace, gateway.name, listener.name)
  const route: NamedResource = {
    name: xdsName("route", routeKey),
    resource: Resource.fromPartial({
      kind: {
        $case: "route",
        value: {
          key: routeKey,
          listenerKey: listenerKey(gateway.namespace, gateway.name, listener.name),
          name: { kind: "Gateway", name: gateway.name, namespace: gateway.namespace, ruleName: listener.name },
          matches: [{ path: { kind: { $case: "pathPrefix", value: "/" } } }],
          backends: [{ backend: { kind: { $case: "backend", value: backendKey } }, weight: 1 }]
        }
      }
    })
  }
  const backend: NamedResource = {
    name: xdsName("backend", backendKey),
    resource: Resource.fromPartial({
      kind: {
        $case: "backend",
        value: {
          key: backendKey,
          name: { name: `${gateway.name}.${listener.name}`, namespace: gateway.namespace },
          kind: {
            $case: "mcp",
            value: {
              targets: targets.map(mcpTarget),
              prefixMode: behaviour.prefixMode,
              statefulMode: behaviour.statefulMode,
              failureMode: behaviour.failureMode
            }
          }
        }
      }
    })
  }
  return {
    resources: [httpListenerResource(gateway.namespace, gateway.name, listener), route, backend, ...targets.map(staticBackendResource)],
    targets,
    problems
  }
}
