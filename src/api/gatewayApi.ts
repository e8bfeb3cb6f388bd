// Gateway API kinds (gateway.networking.k8s.io): GatewayClass and Gateway.
import { Schema } from "effect"
import { DnsLabel, DnsSubdomain, LabelSelector, ObjectMeta, PortNumber, StringMap } from "./meta.ts"

export const GATEWAY_API_GROUP = "gateway.networking.k8s.io"
const GatewayApiVersion = Schema.Literals([`${GATEWAY_API_GROUP}/v1`, `${GATEWAY_API_GROUP}/v1beta1`])

export const ParametersReference = Schema.Struct({
  group: Schema.String,
  kind: Schema.String,
  name: Schema.String,
  namespace: Schema.optionalKey(Schema.String)
})
export type ParametersReference = typeof ParametersReference.Type

export const GatewayClass = Schema.Struct({
  apiVersion: GatewayApiVersion,
  kind: Schema.Literal("GatewayClass"),
  metadata: ObjectMeta,
  spec: Schema.Struct({
    controllerName: Schema.String,
    parametersRef: Schema.optionalKey(ParametersReference)
  })
})
export type GatewayClass = typeof GatewayClass.Type

export const FromNamespaces = Schema.Literals(["All", "Same", "Selector"])
export type FromNamespaces = typeof FromNamespaces.Type

export const AllowedRoutes = Schema.Struct({
  namespaces: Schema.optionalKey(
    Schema.Struct({
      from: Schema.optionalKey(FromNamespaces),
      selector: Schema.optionalKey(LabelSelector)
    }).check(
      Schema.makeFilter((namespaces) =>
        namespaces.from === "Selector" && namespaces.selector === undefined
          ? "from: Selector needs a selector; add selector.matchLabels or selector.matchExpressions, or use Same or All"
          : undefined
      )
    )
  )
})

/** A listener's hostname, as the Gateway API defines it: a DNS name, optionally `*.`-prefixed, no IP. */
export const Hostname = Schema.String.check(
  Schema.isPattern(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: "must be a lowercase DNS name such as mcp.example.com or *.example.com (no IP address, port or trailing dot)"
  }),
  Schema.isMaxLength(253),
  Schema.makeFilter((hostname) =>
    /^[0-9.]+$/.test(hostname) ? "is an IP address; a listener hostname is a DNS name (leave it out to match any host)" : undefined
  )
)

export const Listener = Schema.Struct({
  name: DnsLabel,
  port: PortNumber,
  protocol: Schema.NonEmptyString,
  hostname: Schema.optionalKey(Hostname),
  allowedRoutes: Schema.optionalKey(AllowedRoutes)
})
export type Listener = typeof Listener.Type

export const Gateway = Schema.Struct({
  apiVersion: GatewayApiVersion,
  kind: Schema.Literal("Gateway"),
  metadata: ObjectMeta,
  spec: Schema.Struct({
    gatewayClassName: DnsSubdomain,
    listeners: Schema.Array(Listener).check(Schema.isMinLength(1, { message: "needs at least one listener" })),
    infrastructure: Schema.optionalKey(
      Schema.Struct({
        /** Put on every object agentplane deploys for a managed Gateway. */
        labels: Schema.optionalKey(StringMap),
        annotations: Schema.optionalKey(StringMap),
        parametersRef: Schema.optionalKey(
          Schema.Struct({
            group: Schema.String,
            kind: Schema.String,
            name: Schema.String
          })
        )
      })
    )
  })
})
export type Gateway = typeof Gateway.Type
