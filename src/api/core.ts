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

/**
 * Two ports of one Service with the same name or number: the API server refuses such a Service,
 * and each would become its own MCP target of the same address.
 */
const duplicatePorts = (ports: ReadonlyArray<ServicePort>): Array<Schema.FilterIssue> => {
  const issues: Array<Schema.FilterIssue> = []
  const names = new Map<string, number>()
  const numbers = new Map<string, number>()
  ports.forEach((port, index) => {
    // The same number is allowed once per protocol (DNS serves 53 over TCP and UDP).
    const number = `${port.port}/${port.protocol ?? "TCP"}`
    const sameNumber = numbers.get(number)
    if (sameNumber !== undefined) {
      issues.push({ path: [index, "port"], issue: `${port.port} is also the port of spec.ports[${sameNumber}]; give each port its own number` })
    } else numbers.set(number, index)
    if (port.name === undefined) return
    const sameName = names.get(port.name)
    if (sameName !== undefined) {
      issues.push({ path: [index, "name"], issue: `"${port.name}" is also the name of spec.ports[${sameName}]; give each port its own name` })
    } else names.set(port.name, index)
  })
  return issues
}

export const Service = Schema.Struct({
  apiVersion: Schema.Literal("v1"),
  kind: Schema.Literal("Service"),
  metadata: ObjectMeta.mapFields((fields) => ({ ...fields, name: Rfc1035Label })),
  spec: Schema.Struct({
    type: Schema.optionalKey(Schema.Literals(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"])),
    externalName: Schema.optionalKey(Schema.String),
    clusterIP: Schema.optionalKey(Schema.String),
    selector: Schema.optionalKey(StringMap),
    ports: Schema.optionalKey(Schema.Array(ServicePort).check(Schema.makeFilter(duplicatePorts)))
  }),
  /** Read for the addresses of the Services agentplane runs for managed Gateways. */
  status: Schema.optionalKey(
    Schema.Struct({
      loadBalancer: Schema.optionalKey(
        Schema.Struct({
          ingress: Schema.optionalKey(
            Schema.Array(
              Schema.Struct({
                ip: Schema.optionalKey(Schema.String),
                hostname: Schema.optionalKey(Schema.String)
              })
            )
          )
        })
      )
    })
  )
})
export type Service = typeof Service.Type

export const Namespace = Schema.Struct({
  apiVersion: Schema.Literal("v1"),
  kind: Schema.Literal("Namespace"),
  metadata: ObjectMeta
})
export type Namespace = typeof Namespace.Type

/** Base64 (standard alphabet, padded), as Kubernetes stores Secret `data`. */
const Base64 = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9+/]*={0,2}$/, { message: "must be base64 (the Secret's data values are base64-encoded; put plain text in stringData)" })
)

/** Read only when a policy references it; values are credentials and never logged or shown. */
export const Secret = Schema.Struct({
  apiVersion: Schema.Literal("v1"),
  kind: Schema.Literal("Secret"),
  metadata: ObjectMeta,
  type: Schema.optionalKey(Schema.String),
  data: Schema.optionalKey(Schema.Record(Schema.String, Base64)),
  stringData: Schema.optionalKey(StringMap)
})
export type Secret = typeof Secret.Type
