// Who may open an xDS stream, and for which Gateway. In a cluster a proxy
// proves its identity with a ServiceAccount token (agentgateway sends it as
// `authorization: Bearer …`); it may then read only the Gateway whose
// namespace and name are its ServiceAccount's. In file mode the server is
// open: it listens on loopback unless told otherwise.
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

export type XdsAuthError = XdsUnauthenticated | XdsPermissionDenied | XdsAuthUnavailable

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
  return own === gateway ? Effect.void : Effect.fail(
    new XdsPermissionDenied({
      message:
        `the token of ServiceAccount ${own} may only read Gateway ${own}, not ${gateway}; run the proxy of Gateway ${gateway} as ServiceAccount ${gateway.replace("/", ":")}`
    })
  )
}

export const MISSING_TOKEN =
  `no bearer token: agentplane serves only proxies that present a ServiceAccount token with audience ${XDS_AUDIENCE} (agentgateway sends the file named by XDS_AUTH_TOKEN, by default /var/run/secrets/xds-tokens/xds-token)`

export class XdsAuthenticator extends Context.Service<XdsAuthenticator, {
  /**
   * Checks the token of a stream (undefined when it sent none) against the Gateway it asks for;
   * returns who it is, for the logs.
   */
  readonly authorize: (token: string | undefined, gateway: string) => Effect.Effect<string, XdsAuthError>
}>()("agentplane/xds/XdsAuthenticator") {
  /** File mode: every stream is served; the port is on loopback unless opened on purpose. */
  static readonly open = Layer.succeed(XdsAuthenticator, XdsAuthenticator.of({ authorize: () => Effect.succeed("unauthenticated (file mode)") }))
}
