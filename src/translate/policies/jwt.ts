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

/** Key types and curves the proxy loads; any other key makes 1.2 refuse the policy and 1.4 drop the provider. */
const SUPPORTED_KEYS: Readonly<Record<string, ReadonlyArray<string> | undefined>> = { RSA: undefined, EC: ["P-256", "P-384"], OKP: ["Ed25519"] }

/** Why a JWKS document (inline or fetched) would not load in the proxy, or undefined. */
export const jwksProblem = (jwks: string): string | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(jwks)
  } catch {
    return `is not JSON; give a JWKS document such as {"keys":[…]}`
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) return `is not a JWKS document; give {"keys":[…]}`
  for (const [index, key] of keys.entries()) {
    const jwk = (typeof key === "object" && key !== null ? key : {}) as { kid?: unknown; kty?: unknown; crv?: unknown }
    if (typeof jwk.kid !== "string") return `keys[${index}] has no kid; every key needs a kid (tokens name their key by it)`
    const kty = typeof jwk.kty === "string" ? jwk.kty : ""
    if (!Object.hasOwn(SUPPORTED_KEYS, kty))
      return `keys[${index}] (kid ${jwk.kid}) has key type ${JSON.stringify(kty)}; the proxy loads RSA, EC (P-256, P-384) and OKP (Ed25519) keys`
    const curves = SUPPORTED_KEYS[kty]
    if (curves !== undefined && !curves.includes(String(jwk.crv))) {
      return `keys[${index}] (kid ${jwk.kid}, kty ${kty}) is on curve ${JSON.stringify(jwk.crv)}; the proxy loads ${kty} keys on ${curves.join(", ")}`
    }
  }
  return undefined
}

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
    const problem = jwksProblem(keySet.jwks)
    if (problem !== undefined) return context.findings.gap(`provider ${provider.issuer} is left out: the key set fetched from ${resolved.url} ${problem}`)
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
