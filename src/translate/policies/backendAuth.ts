// backend.auth → BackendAuthPolicy: the credential the proxy sends to the upstream MCP server.
// `secretRef` reads key `Authorization` by default, and strips a `Bearer ` prefix only there (the
// proxy adds its own prefix at the default location).
import type { BackendAuth } from "../../api/agentgatewayPolicy.ts"
import type { BackendAuthPolicy } from "../../gen/agentgateway/resource.ts"
import type { PolicyContext } from "./context.ts"
import { authorizationLocation } from "./location.ts"
import { lookupSecret } from "./secrets.ts"

const FIELD = "spec.backend.auth"
export const DEFAULT_BACKEND_AUTH_KEY = "Authorization"

const secretOf = (auth: BackendAuth, context: PolicyContext): string => {
  const ref = auth.secretRef!
  const lookup = lookupSecret(context.world, context.namespace, `${FIELD}.secretRef`, ref)
  if (lookup._tag === "WrongKind") {
    context.findings.refuse(lookup.message)
    return ""
  }
  if (lookup._tag === "Missing") {
    context.findings.gap(`${lookup.message}; until then the upstream gets an empty credential`)
    return ""
  }
  const key = ref.key ?? DEFAULT_BACKEND_AUTH_KEY
  const value = lookup.values.get(key)
  if (value === undefined) {
    context.findings.gap(
      `${FIELD}.secretRef: Secret ${context.namespace}/${ref.name} has no key ${JSON.stringify(key)}; until it does the upstream gets an empty credential`
    )
    return ""
  }
  const trimmed = value.trim()
  return ref.key === undefined && trimmed.startsWith("Bearer ") ? trimmed.slice("Bearer ".length) : trimmed
}

/** Undefined when the policy names no credential kind agentplane supports (refused by name elsewhere). */
export const backendAuthPart = (auth: BackendAuth, context: PolicyContext): BackendAuthPolicy | undefined => {
  const location = authorizationLocation(auth.location)
  if (auth.passthrough !== undefined) return { kind: { $case: "passthrough", value: { authorizationLocation: location } } }
  if (auth.key !== undefined) return { kind: { $case: "key", value: { secret: auth.key, authorizationLocation: location } } }
  if (auth.secretRef !== undefined) return { kind: { $case: "key", value: { secret: secretOf(auth, context), authorizationLocation: location } } }
  return undefined
}
