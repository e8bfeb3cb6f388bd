// Who may open an xDS stream, and for which Gateway. In a cluster a proxy
// proves its identity with a ServiceAccount token (agentgateway sends it as
// `authorization: Bearer …`); it may then read only the Gateway whose
// namespace and name are its ServiceAccount's. The token is checked when the
// stream opens, before anything the client sent is read, and again while
// the stream lives. In file mode the server is open: any client may read any
// Gateway, so it listens on loopback unless told otherwise.
import { Context, Effect, Layer, Schema } from "effect"

/** The audience agentgateway's tokens are issued for. */
export const XDS_AUDIENCE = "agentgateway"

/** Who a token belongs to. */
export interface ProxyPrincipal {
  readonly namespace: string
  readonly serviceAccount: string
}

/** No token, or one the API server does not accept for our audience. */
export class XdsUnauthenticated extends Schema.TaggedError<XdsUnauthenticated>()("XdsUnauthenticated", {
  message: Schema.String
}) {}

/** A valid token of a proxy that asked for another Gateway's configuration. */
export class XdsPermissionDenied extends Schema.TaggedError<XdsPermissionDenied>()("XdsPermissionDenied", {
  message: Schema.String
}) {}

/** The token could not be checked (the API server is unreachable); the proxy should retry. */
export class XdsAuthUnavailable extends Schema.TaggedError<XdsAuthUnavailable>()("XdsAuthUnavailable", {
  message: Schema.String
}) {}

/** This peer asked for more token reviews than it may; it should retry later. */
export class XdsRateLimited extends Schema.TaggedError<XdsRateLimited>()("XdsRateLimited", {
  message: Schema.String
}) {}

export type XdsAuthError = XdsUnauthenticated | XdsPermissionDenied | XdsAuthUnavailable | XdsRateLimited

/** What a stream's credentials allow, and until when. */
export interface XdsGrant {
  /** Who the stream belongs to, for the logs. */
  readonly who: string
  /** Fails unless these credentials may read `gateway` (`namespace/name`). */
  readonly permits: (gateway: string) => Effect.Effect<void, XdsPermissionDenied>
  /** When the credentials expire for certain (epoch milliseconds; a token's `exp`); undefined: never or unknown. */
  readonly expiresAt: number | undefined
}

/** The token of an `authorization: Bearer …` header value. */
export const bearerToken = (header: unknown): string | undefined => {
  if (typeof header !== "string") return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

/** `system:serviceaccount:<namespace>:<name>`, the username of every ServiceAccount token. */
export const principalOf = (username: string | undefined): ProxyPrincipal | undefined => {
  const parts = username?.split(":")
  return parts?.length === 4 && parts[0] === "system" && parts[1] === "serviceaccount" && parts[2] !== "" && parts[3] !== ""
    ? { namespace: parts[2]!, serviceAccount: parts[3]! }
    : undefined
}

/**
 * A proxy serves the Gateway named like its ServiceAccount, in the same namespace: managed proxies
 * run as the ServiceAccount agentplane creates for their Gateway; self-managed ones must do the same.
 */
export const checkGateway = (principal: ProxyPrincipal, gateway: string): Effect.Effect<void, XdsPermissionDenied> => {
  const own = `${principal.namespace}/${principal.serviceAccount}`
  return own === gateway
    ? Effect.void
    : Effect.fail(
        new XdsPermissionDenied({
          message: `the token of ServiceAccount ${own} may only read Gateway ${own}, not ${gateway}; run the proxy of Gateway ${gateway} as ServiceAccount ${gateway.replace("/", ":")}`
        })
      )
}

export const MISSING_TOKEN = `no bearer token: agentplane serves only proxies that present a ServiceAccount token with audience ${XDS_AUDIENCE} (agentgateway sends the file named by XDS_AUTH_TOKEN, by default /var/run/secrets/xds-tokens/xds-token)`

export class XdsAuthenticator extends Context.Service<
  XdsAuthenticator,
  {
    /**
     * Checks the token of a stream (undefined when it sent none) opened from `peer` (gRPC's
     * `host:port`), before the stream's requests are read.
     */
    readonly authenticate: (token: string | undefined, peer: string) => Effect.Effect<XdsGrant, XdsAuthError>
    /** The same, never from a cached verdict: for streams that have been open a while. */
    readonly reauthenticate: (token: string | undefined, peer: string) => Effect.Effect<XdsGrant, XdsAuthError>
  }
>()("agentplane/xds/XdsAuthenticator") {
  /** File mode: every stream is served, for any Gateway; the port is on loopback unless opened on purpose. */
  static readonly open = Layer.sync(XdsAuthenticator, () => {
    const grant: XdsGrant = { who: "unauthenticated (file mode)", permits: () => Effect.void, expiresAt: undefined }
    return XdsAuthenticator.of({ authenticate: () => Effect.succeed(grant), reauthenticate: () => Effect.succeed(grant) })
  })
}

/** The host of a gRPC peer (`1.2.3.4:5678`, `[::1]:5678`, `ipv4:…`), for rate limits by address. */
export const peerHost = (peer: string): string => {
  const bare = peer.replace(/^ipv[46]:/, "")
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(bare)
  if (bracketed !== null) return bracketed[1]!
  // One colon: host:port; more: an IPv6 address without a port.
  return bare.indexOf(":") === bare.lastIndexOf(":") ? bare.replace(/:\d+$/, "") : bare
}

/**
 * Whether a `HOST:PORT` listens only on loopback: `localhost`, 127.0.0.0/8 or `::1`. Anything else
 * (a wildcard address, a hostname) may be reachable from other machines.
 */
export const isLoopbackAddress = (address: string): boolean => {
  const host = address
    .replace(/:\d+$/, "")
    .replace(/^\[(.*)\]$/, "$1")
    .toLowerCase()
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/**
 * Why file mode will not serve xDS on `address` unless told to (undefined when it is loopback):
 * without authentication, any client that reaches the port can read every Gateway's configuration.
 */
export const unauthenticatedXdsProblem = (address: string): string | undefined =>
  isLoopbackAddress(address)
    ? undefined
    : `--xds-address ${address} is not a loopback address, and file mode does not authenticate xDS clients (any client that reaches it can read every Gateway's configuration); give --xds-allow-unauthenticated to serve it anyway on a trusted network, or a loopback address such as 127.0.0.1:9978`

export const unauthenticatedXdsWarning = (address: string) =>
  `xDS on ${address} is not authenticated (--xds-allow-unauthenticated): any client that reaches it can read every Gateway's configuration by naming the Gateway in its node metadata`
