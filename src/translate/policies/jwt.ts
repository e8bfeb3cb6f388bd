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
import { jwksProblem, usableJwks } from "./jwks.ts"
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

export const jwtPart = (jwt: JwtAuthentication, context: PolicyContext): TrafficPolicySpec_JWT => {
  const providers: Array<TrafficPolicySpec_JWT_Provider> = []
  jwt.providers.forEach((provider, index) => {
    const field = `${FIELD}.providers[${index}].jwks`
    const base = { issuer: provider.issuer, audiences: [...(provider.audiences ?? [])], jwtValidationOptions: undefined }
    if (provider.jwks.inline !== undefined) {
      const problem = jwksProblem(provider.jwks.inline)
      context.findings.refuse(problem === undefined ? undefined : `${field}.inline: ${problem}`)
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
    const usable = usableJwks(keySet.jwks)
    if ("problem" in usable) return context.findings.gap(`provider ${provider.issuer} is left out: the key set fetched from ${resolved.url} ${usable.problem}`)
    for (const dropped of usable.dropped)
      context.findings.gap(`provider ${provider.issuer}: the key set fetched from ${resolved.url} is sent without ${dropped}`)
    providers.push({ ...base, inline: usable.jwks })
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
