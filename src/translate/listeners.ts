// Listener protocols we serve and the Gateway API rules between listeners
// that share a port.
import type { Listener } from "../api/gatewayApi.ts"
import type { RouteGroupKind } from "./status.ts"

export type ListenerKind = "mcp" | "a2a" | "http"

const kinds: Readonly<Record<string, ListenerKind>> = {
  "kgateway.dev/mcp": "mcp",
  "agentgateway.dev/mcp": "mcp",
  "kgateway.dev/a2a": "a2a",
  "agentgateway.dev/a2a": "a2a",
  HTTP: "http"
}

export const listenerKindOf = (listener: Listener): ListenerKind | undefined => kinds[listener.protocol]

export const SUPPORTED_PROTOCOLS = Object.keys(kinds)

/** Discovery listeners attach Services; plain HTTP listeners would attach HTTPRoutes. */
export const supportedKinds = (kind: ListenerKind | undefined): ReadonlyArray<RouteGroupKind> => {
  switch (kind) {
    case "mcp":
    case "a2a":
      return [{ group: "", kind: "Service" }]
    case "http":
      return [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }]
    case undefined:
      return []
  }
}

export type ListenerVerdict =
  | { readonly _tag: "Ok"; readonly kind: ListenerKind }
  | { readonly _tag: "Unsupported"; readonly message: string }
  | { readonly _tag: "Conflicted"; readonly reason: "HostnameConflict" | "DuplicateName"; readonly message: string }

/**
 * Judges every listener of one Gateway. All protocols we serve are HTTP at
 * the proxy, so listeners sharing a port only conflict when their hostnames
 * are equal (both unset counts as equal); both sides are then refused, as
 * the Gateway API asks.
 */
export const judgeListeners = (listeners: ReadonlyArray<Listener>): ReadonlyArray<ListenerVerdict> => {
  const seenNames = new Set<string>()
  const verdicts: Array<ListenerVerdict> = listeners.map((listener) => {
    if (seenNames.has(listener.name)) {
      return { _tag: "Conflicted", reason: "DuplicateName", message: `another listener is already named "${listener.name}"; listener names must be unique` }
    }
    seenNames.add(listener.name)
    const kind = listenerKindOf(listener)
    return kind === undefined
      ? {
          _tag: "Unsupported",
          message: `protocol "${listener.protocol}" is not served by agentplane; use one of ${SUPPORTED_PROTOCOLS.join(", ")}`
        }
      : { _tag: "Ok", kind }
  })
  listeners.forEach((listener, index) => {
    if (verdicts[index]?._tag !== "Ok") return
    const clash = listeners.find(
      (other, otherIndex) =>
        otherIndex !== index &&
        verdicts[otherIndex]?._tag !== "Unsupported" &&
        other.name !== listener.name &&
        other.port === listener.port &&
        (other.hostname ?? "") === (listener.hostname ?? "")
    )
    if (clash !== undefined) {
      verdicts[index] = {
        _tag: "Conflicted",
        reason: "HostnameConflict",
        message: `listener "${clash.name}" also serves port ${listener.port} for ${
          listener.hostname === undefined ? "any hostname" : `hostname ${listener.hostname}`
        }; give each listener on a port a distinct hostname`
      }
    }
  })
  return verdicts
}
