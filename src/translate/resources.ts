// Constructors of agentgateway resources, each with its xDS name.
import {
  Bind_Protocol,
  MCPBackend_FailureMode,
  MCPBackend_PrefixMode,
  MCPBackend_StatefulMode,
  MCPTarget_Protocol,
  Protocol,
  Resource,
  type MCPTarget
} from "../gen/agentgateway/resource.ts"
import type { DiscoveredBackend } from "./discovery.ts"
import { bindKey, listenerKey, xdsName } from "./names.ts"

export interface NamedResource {
  /** xDS resource name, `<kind>/<key>` */
  readonly name: string
  readonly resource: Resource
}

export const bindResource = (namespace: string, gateway: string, port: number): NamedResource => {
  const key = bindKey(namespace, gateway, port)
  return {
    name: xdsName("bind", key),
    resource: Resource.fromPartial({ kind: { $case: "bind", value: { key, port, protocol: Bind_Protocol.HTTP } } })
  }
}

export const httpListenerResource = (
  namespace: string,
  gateway: string,
  listener: { readonly name: string; readonly port: number; readonly hostname?: string }
): NamedResource => {
  const key = listenerKey(namespace, gateway, listener.name)
  return {
    name: xdsName("listener", key),
    resource: Resource.fromPartial({
      kind: {
        $case: "listener",
        value: {
          key,
          bindKey: bindKey(namespace, gateway, listener.port),
          name: { gatewayName: gateway, gatewayNamespace: namespace, listenerName: listener.name },
          hostname: listener.hostname ?? "",
          protocol: Protocol.HTTP
        }
      }
    })
  }
}

const staticBackends = new WeakMap<DiscoveredBackend, NamedResource>()

/** A Service port reached by DNS name (one object per discovered backend, so its encoding is reused). */
export const staticBackendResource = (backend: DiscoveredBackend): NamedResource => {
  const cached = staticBackends.get(backend)
  if (cached !== undefined) return cached
  const resource = makeStaticBackend(backend)
  staticBackends.set(backend, resource)
  return resource
}

const makeStaticBackend = (backend: DiscoveredBackend): NamedResource => ({
  name: xdsName("backend", backend.backendKey),
  resource: Resource.fromPartial({
    kind: {
      $case: "backend",
      value: {
        key: backend.backendKey,
        name: { name: backend.service, namespace: backend.namespace },
        kind: { $case: "static", value: { host: backend.host, port: backend.port } }
      }
    }
  })
})

export const mcpTarget = (backend: DiscoveredBackend): MCPTarget => ({
  name: backend.targetName,
  backend: { kind: { $case: "backend", value: backend.backendKey }, port: 0 },
  path: backend.path,
  protocol: backend.protocol === "mcp-sse" ? MCPTarget_Protocol.SSE : MCPTarget_Protocol.STREAMABLE_HTTP
})

/** How the proxy multiplexes MCP targets. */
export interface McpBehaviour {
  readonly prefixMode: MCPBackend_PrefixMode
  readonly statefulMode: MCPBackend_StatefulMode
  readonly failureMode: MCPBackend_FailureMode
}

/**
 * Defaults: tool names always carry their target's prefix, so they do not
 * change when a second server is discovered; a failing server is skipped
 * instead of failing every session; sessions are stateful as MCP expects.
 */
export const defaultMcpBehaviour: McpBehaviour = {
  prefixMode: MCPBackend_PrefixMode.ALWAYS,
  statefulMode: MCPBackend_StatefulMode.STATEFUL,
  failureMode: MCPBackend_FailureMode.FAIL_OPEN
}
