// traffic.jwtAuthentication → TrafficPolicySpec.JWT. Remote providers get the keys the JWKS
// fetcher put in the World; a provider whose keys are not there yet is left out (Strict then
// rejects its tokens) and the policy is PartiallyValid, naming it.
import type { JwtAuthentication } from "../../api/agentgatewayPolicy.ts"
import {
  McpIdentityProvider,
  TrafficPolicySpec_JWT_Mode,
  type TrafficPolicySpec_JWT,
  type TrafficPolicySpec_JWT_Provider
} from "../../gen/agentgateway/resource.ts"
import type { PolicyContext } from "./context.ts"
import { authorizationLocation } from "./location.ts"
import { resolveRemoteJwks } from "./remoteJwks.ts"

const MODES = {
  Strict: TrafficPolicySpec_JWT_Mode.STRICT,
  Optional: TrafficPolicySpec_JWT_Mode.OPTIONAL,
  Permissive: TrafficPolicySpec_JWT_Mode.PERMISSIVE
} as const

const PROVIDERS = {
  Auth0: McpIdentityProvider.AUTH0,
  Keycloak: McpIdentityProvider.KEYCLOAK,
  Okta: McpIdentityProvider.OKTA,
  Descope: McpIdentityProvider.DESCOPE,
  Authentik: McpIdentityProvider.AUTHENTIK,
  Entra: McpIdentityProvider.ENTRA
} as const

const FIELD = "spec.traffic.jwtAuthentication"

/** The inline JWKS must be a key set, or the proxy refuses (1.2) or drops (1.4) the provider. */
const inlineProblem = (field: string, inline: string): string | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(inline)
  } catch {
    return `${field}: is not JSON; give a JWKS document such as {"keys":[…]}`
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) return `${field}: is not a JWKS document; give {"keys":[…]}`
  const index = keys.findIndex((key) => typeof key !== "object" || key === null || typeof (key as { kid?: unknown }).kid !== "string")
  return index === -1 ? undefined : `${field}: keys[${index}] has no kid; every key needs a kid (tokens name their key by it)`
}

export const jwtPart = (jwt: JwtAuthentication, context: PolicyContext): TrafficPolicySpec_JWT => {
  const providers: Array<TrafficPolicySpec_JWT_Provider> = []
  jwt.providers.forEach((provider, index) => {
    const field = `${FIELD}.providers[${index}].jwks`
    const base = { issuer: provider.issuer, audiences: [...(provider.audiences ?? [])], jwtValidationOptions: undefined }
    if (provider.jwks.inline !== undefined) {
      context.findings.refuse(inlineProblem(`${field}.inline`, provider.jwks.inline))
      providers.push({ ...base, inline: provider.jwks.inline })
      return
    }
    const resolved = resolveRemoteJwks(context.world, context.options, context.namespace, `${field}.remote`, provider.jwks.remote!)
    if (resolved._tag === "Invalid") return context.findings.refuse(resolved.message)
    if (resolved._tag === "Unresolved") return context.findings.gap(`provider ${provider.issuer} is left out: ${resolved.message}`)
    const keySet = context.world.jwksKeySets.get(resolved.key)
    if (keySet?.jwks === undefined) {
      return context.findings.gap(
        `provider ${provider.issuer} is left out: its key set from ${resolved.url} is not available yet (${keySet?.error ?? "not fetched yet"}); tokens it issued are rejected until it is`
      )
    }
    providers.push({ ...base, inline: keySet.jwks })
  })
  const location = authorizationLocation(jwt.location)
  return {
    mode: MODES[jwt.mode ?? "Strict"],
    providers,
    mcp:
      jwt.mcp === undefined
        ? undefined
        : {
            provider: jwt.mcp.provider === undefined ? McpIdentityProvider.UNSPECIFIED : PROVIDERS[jwt.mcp.provider],
            resourceMetadata: jwt.mcp.resourceMetadata === undefined ? undefined : { extra: { ...jwt.mcp.resourceMetadata } },
            ...(jwt.mcp.clientId === undefined ? {} : { clientId: jwt.mcp.clientId })
          },
    authorizationLocation: location
  }
}
