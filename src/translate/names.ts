// Keys of the agentgateway resources we emit and their xDS resource names.
// Keys only need to be unique per kind; the proxy links objects by key.

export const bindKey = (namespace: string, gateway: string, port: number): string => `${port}/${namespace}/${gateway}`

export const listenerKey = (namespace: string, gateway: string, listener: string): string => `${namespace}/${gateway}.${listener}`

/** The single route a discovery listener (MCP) serves. */
export const mcpRouteKey = (namespace: string, gateway: string, listener: string): string => `${namespace}/${gateway}.${listener}.mcp`

/** The multiplexing MCP backend behind a listener. */
export const mcpBackendKey = (namespace: string, gateway: string, listener: string): string => `${namespace}/${gateway}.${listener}.mcp`

/** A Service port reached by DNS; shared by every gateway that discovers it. */
export const serviceBackendKey = (namespace: string, service: string, port: number): string => `${namespace}/${service}:${port}`

export type ResourceKind = "bind" | "listener" | "route" | "backend" | "policy"

export const xdsName = (kind: ResourceKind, key: string): string => `${kind}/${key}`

/**
 * MCP target name of a Service port: `<service>.<namespace>`, or
 * `<service>.<port>.<namespace>` when the Service has several MCP ports.
 * Service names and namespaces are RFC 1123 labels (no dots), so the name is
 * unique; it depends on nothing but the Service itself, so tool prefixes stay
 * put when other Services come and go. It always matches the proxy's target
 * name rule (lowercase labels joined by dots, at most 253 characters).
 */
export const mcpTargetName = (namespace: string, service: string, port: string | undefined): string =>
  port === undefined ? `${service}.${namespace}` : `${service}.${port}.${namespace}`

/** The route of one A2A agent (a Service port) behind a listener. */
export const a2aRouteKey = (namespace: string, gateway: string, listener: string, backendKey: string): string =>
  `${namespace}/${gateway}.${listener}.a2a/${backendKey}`
