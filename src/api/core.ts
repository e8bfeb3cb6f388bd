// Core kinds (v1): Service and Namespace.
import { Schema } from "effect"
import { ObjectMeta, PortName, PortNumber, Rfc1035Label, StringMap } from "./meta.ts"

export const ServicePort = Schema.Struct({
  name: Schema.optionalKey(PortName),
  port: PortNumber,
  targetPort: Schema.optionalKey(Schema.Union([PortNumber, Schema.String])),
  protocol: Schema.optionalKey(Schema.Literals(["TCP", "UDP", "SCTP"])),
  appProtocol: Schema.optionalKey(Schema.String)
})
export type ServicePort = typeof ServicePort.Type

export const Service = Schema.Struct({
  apiVersion: Schema.Literal("v1"),
  kind: Schema.Literal("Service"),
  metadata: ObjectMeta.mapFields((fields) => ({ ...fields, name: Rfc1035Label })),
  spec: Schema.Struct({
    type: Schema.optionalKey(Schema.Literals(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"])),
    externalName: Schema.optionalKey(Schema.String),
    clusterIP: Schema.optionalKey(Schema.String),
    selector: Schema.optionalKey(StringMap),
    ports: Schema.optionalKey(Schema.Array(ServicePort))
  }),
  /** Read for the addresses of the Services agentplane runs for managed Gateways. */
  status: Schema.optionalKey(Schema.Struct({
    loadBalancer: Schema.optionalKey(Schema.Struct({
      ingress: Schema.optionalKey(Schema.Array(Schema.Struct({
        ip: Schema.optionalKey(Schema.String),
        hostname: Schema.optionalKey(Schema.String)
      })))
    }))
  }))
})
export type Service = typeof Service.Type

export const Namespace = Schema.Struct({
  apiVersion: Schema.Literal("v1"),
  kind: Schema.Literal("Namespace"),
  metadata: ObjectMeta
})
export type Namespace = typeof Namespace.Type
