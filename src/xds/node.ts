// Which gateway a proxy serves, from the Node it sends on its first request.
// Only the few fields we need are read, and each is bounded: the node is
// chosen by the client, and in a cluster it is read before the client has
// been allowed anything but naming its Gateway.
import { Result, Schema } from "effect"
import type { Node } from "../gen/envoy/config/core/v3/base.ts"
import { clip, MAX_GATEWAY_NAME_CHARS, MAX_NAMESPACE_CHARS, MAX_NODE_ID_CHARS } from "./limits.ts"

/** The first request names no Gateway agentplane could serve; the message says what to set. */
export class UnnamedGateway extends Schema.TaggedError<UnnamedGateway>()("UnnamedGateway", {
  message: Schema.String
}) {}

export type GatewayNamed = Result.Result<{ readonly gateway: string }, UnnamedGateway>

const refused = (message: string): GatewayNamed => Result.fail(new UnnamedGateway({ message }))

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined)

/** Longer names cannot be a Gateway's, and the value is not echoed: it may be megabytes. */
const tooLong = (what: "namespace" | "Gateway name", from: string, length: number, max: number) =>
  `the ${what} in ${from} is ${length} characters long, more than the ${max} a Kubernetes ${what} can have: start the proxy with GATEWAY and NAMESPACE naming its Gateway`

const checked = (namespace: string, name: string, from: string): GatewayNamed => {
  if (namespace.length > MAX_NAMESPACE_CHARS) return refused(tooLong("namespace", from, namespace.length, MAX_NAMESPACE_CHARS))
  if (name.length > MAX_GATEWAY_NAME_CHARS) return refused(tooLong("Gateway name", from, name.length, MAX_GATEWAY_NAME_CHARS))
  return Result.succeed({ gateway: `${namespace}/${name}` })
}

/**
 * `namespace/name` of the Gateway: `GATEWAY_NAME` + `NAMESPACE` from the node metadata, falling
 * back to `role` (`<namespace>~<gateway>`); or why it cannot be read, saying what to set.
 */
export const gatewayOf = (node: Node | undefined): GatewayNamed => {
  if (node === undefined) return refused("the first request of a stream must carry the node; is this an agentgateway proxy?")
  const metadata: Record<string, unknown> = node.metadata ?? {}
  const name = text(metadata["GATEWAY_NAME"])
  const namespace = text(metadata["NAMESPACE"])
  if (name !== undefined && namespace !== undefined) return checked(namespace, name, "node metadata NAMESPACE/GATEWAY_NAME")
  const role = text(metadata["role"])
  const split = role?.indexOf("~") ?? -1
  if (role !== undefined && split > 0 && split < role.length - 1) {
    return checked(role.slice(0, split), role.slice(split + 1), "node metadata role")
  }
  return refused(`node "${nodeIdOf(node)}" names no gateway: start the proxy with the GATEWAY and NAMESPACE environment variables set`)
}

/** The node id as agentplane keeps and logs it: clipped, with a marker when it was longer. */
export const nodeIdOf = (node: Node): string => clip(node.id, MAX_NODE_ID_CHARS)
