// Which gateway a proxy serves, from the Node it sends on its first request.
import type { Node } from "../gen/envoy/config/core/v3/base.ts"

export interface ProxyIdentity {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string
  readonly nodeId: string
}

const text = (value: unknown): string | undefined => typeof value === "string" && value !== "" ? value : undefined

/**
 * `GATEWAY_NAME` + `NAMESPACE` from the node metadata, falling back to
 * `role` (`<namespace>~<gateway>`). Returns a message saying what is missing.
 */
export const identify = (node: Node | undefined): ProxyIdentity | string => {
  if (node === undefined) return "the first request of a stream must carry the node; is this an agentgateway proxy?"
  const metadata: Record<string, unknown> = node.metadata ?? {}
  const name = text(metadata["GATEWAY_NAME"])
  const namespace = text(metadata["NAMESPACE"])
  if (name !== undefined && namespace !== undefined) return { gateway: `${namespace}/${name}`, nodeId: node.id }
  const role = text(metadata["role"])
  const split = role?.indexOf("~") ?? -1
  if (role !== undefined && split > 0 && split < role.length - 1) {
    return { gateway: `${role.slice(0, split)}/${role.slice(split + 1)}`, nodeId: node.id }
  }
  return `node "${node.id}" names no gateway: start the proxy with the GATEWAY and NAMESPACE environment variables set`
}
