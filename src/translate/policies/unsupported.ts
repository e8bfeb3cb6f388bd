// Upstream fields agentplane does not implement are refused by name, never silently ignored.
import { UNSUPPORTED_FIELDS, type AgentgatewayPolicy } from "../../api/agentgatewayPolicy.ts"

/** The objects at `path` (`spec.traffic`, `spec.targetRefs[]`) inside `root`, with their concrete paths. */
const objectsAt = (root: unknown, path: string): Array<readonly [string, Record<string, unknown>]> => {
  let current: Array<readonly [string, unknown]> = [["", root]]
  for (const segment of path.split(".")) {
    const list = segment.endsWith("[]")
    const name = list ? segment.slice(0, -2) : segment
    const next: Array<readonly [string, unknown]> = []
    for (const [at, value] of current) {
      if (typeof value !== "object" || value === null) continue
      const child = (value as Record<string, unknown>)[name]
      const childPath = at === "" ? name : `${at}.${name}`
      if (child === undefined) continue
      if (list && Array.isArray(child)) child.forEach((item, index) => next.push([`${childPath}[${index}]`, item]))
      else if (!list) next.push([childPath, child])
    }
    current = next
  }
  return current.filter((entry): entry is readonly [string, Record<string, unknown>] => typeof entry[1] === "object" && entry[1] !== null)
}

/** Every unsupported upstream field the policy sets, as a path (`spec.traffic.extAuth`). */
export const unsupportedFieldsOf = (policy: AgentgatewayPolicy): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const [path, names] of Object.entries(UNSUPPORTED_FIELDS)) {
    for (const [at, object] of objectsAt(policy, path)) {
      for (const name of names) if (object[name] !== undefined) found.push(`${at}.${name}`)
    }
  }
  return found
}

/** One message for all of them, so the list of what is supported is said once. */
export const unsupportedMessage = (fields: ReadonlyArray<string>): string | undefined =>
  fields.length === 0
    ? undefined
    : `${fields.join(", ")} ${fields.length === 1 ? "is" : "are"} not supported by agentplane; remove ${fields.length === 1 ? "it" : "them"} (supported: targetRefs to Gateways and their listeners; traffic.phase, jwtAuthentication, authorization, apiKeyAuthentication, basicAuthentication, cors, rateLimit.local; backend.mcp.authorization; backend.auth key, secretRef, passthrough)`
