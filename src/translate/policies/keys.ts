// Keys of the Policy resources an AgentgatewayPolicy becomes, as agentgateway's own controller
// writes them: `<base><suffix><attachment>`, one Policy per (kind × target).
import type { GatewayTarget } from "./targets.ts"

/** What a part of a policy becomes on the wire, with the key suffix the Go controller uses. */
export type PartKind = "jwt" | "rbac" | "apikeyauth" | "basicauth" | "cors" | "rl-local" | "mcp-authorization" | "backend-auth"

/** `:<ns>/<gateway>[/<listener>]` without the colon. */
export const attachmentOf = (target: GatewayTarget): string => `${target.namespace}/${target.name}${target.listener === undefined ? "" : `/${target.listener}`}`

const baseOf = (kind: PartKind, namespace: string, policy: string): string =>
  kind === "mcp-authorization" ? `${namespace}/${policy}` : kind === "backend-auth" ? `backend/${namespace}/${policy}` : `traffic/${namespace}/${policy}`

export const policyKey = (kind: PartKind, namespace: string, policy: string, target: GatewayTarget): string =>
  `${baseOf(kind, namespace, policy)}:${kind}:${attachmentOf(target)}`
