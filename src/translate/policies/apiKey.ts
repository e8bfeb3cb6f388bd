// traffic.apiKeyAuthentication → TrafficPolicySpec.APIKey, keys read from the referenced Secret(s).
// Each Secret entry is one key, in the Go controller's format: the key itself, or JSON
// `{"key": "…", "metadata": {…}}` (metadata becomes `apiKey.*` in CEL).
import type { ApiKeyAuthentication } from "../../api/agentgatewayPolicy.ts"
import type { Secret } from "../../api/core.ts"
import { TrafficPolicySpec_APIKey_Mode, type TrafficPolicySpec_APIKey, type TrafficPolicySpec_APIKey_User } from "../../gen/agentgateway/resource.ts"
import type { PolicyContext } from "./context.ts"
import { authorizationLocation } from "./location.ts"
import { lookupSecret, secretValues, selectSecrets } from "./secrets.ts"

const FIELD = "spec.traffic.apiKeyAuthentication"

const MODES = {
  Strict: TrafficPolicySpec_APIKey_Mode.STRICT,
  Optional: TrafficPolicySpec_APIKey_Mode.OPTIONAL,
  Permissive: TrafficPolicySpec_APIKey_Mode.PERMISSIVE
} as const

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/** One Secret entry as a key; a message naming the Secret and entry (never its value) when it is not usable. */
const userOf = (secretName: string, entry: string, value: string): TrafficPolicySpec_APIKey_User | string => {
  const text = value.trim()
  if (!text.startsWith("{")) return text === "" ? `Secret ${secretName} entry ${entry} is empty` : { key: text, metadata: undefined }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return `Secret ${secretName} entry ${entry} starts with "{" but is not JSON; give the key, or {"key": "…", "metadata": {…}}`
  }
  if (!isRecord(parsed)) return `Secret ${secretName} entry ${entry} is not a JSON object`
  if (parsed["keyHash"] !== undefined) return `Secret ${secretName} entry ${entry} uses keyHash, which agentplane does not support; give the key as "key"`
  if (typeof parsed["key"] !== "string" || parsed["key"] === "") return `Secret ${secretName} entry ${entry} has no "key" string`
  if (parsed["metadata"] !== undefined && !isRecord(parsed["metadata"])) return `Secret ${secretName} entry ${entry}: "metadata" must be a JSON object`
  return { key: parsed["key"], metadata: parsed["metadata"] as Record<string, unknown> | undefined }
}

const usersOf = (secret: Secret, context: PolicyContext): Array<TrafficPolicySpec_APIKey_User> => {
  const users: Array<TrafficPolicySpec_APIKey_User> = []
  const values = secretValues(secret)
  for (const entry of [...values.keys()].sort()) {
    const user = userOf(secret.metadata.name, entry, values.get(entry)!)
    if (typeof user === "string") context.findings.gap(`${FIELD}: ${user}; that entry is left out`)
    else users.push(user)
  }
  return users
}

export const apiKeyPart = (apiKey: ApiKeyAuthentication, context: PolicyContext): TrafficPolicySpec_APIKey => {
  const users: Array<TrafficPolicySpec_APIKey_User> = []
  if (apiKey.secretRef !== undefined) {
    const lookup = lookupSecret(context.world, context.namespace, `${FIELD}.secretRef`, apiKey.secretRef)
    if (lookup._tag === "WrongKind") context.findings.refuse(lookup.message)
    else if (lookup._tag === "Missing") context.findings.gap(`${lookup.message}; until then no API key is accepted`)
    else users.push(...usersOf(lookup.secret, context))
  }
  if (apiKey.secretSelector !== undefined) {
    const selected = selectSecrets(context.world, context.namespace, apiKey.secretSelector)
    if (selected.length === 0) {
      context.findings.gap(
        `${FIELD}.secretSelector: no Secret in namespace ${context.namespace} has the labels ${JSON.stringify(apiKey.secretSelector.matchLabels)}; until one does no API key is accepted`
      )
    }
    for (const secret of selected) users.push(...usersOf(secret, context))
  }
  return { apiKeys: users, mode: MODES[apiKey.mode ?? "Strict"], authorizationLocation: authorizationLocation(apiKey.location) }
}
