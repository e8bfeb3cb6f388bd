// AgentgatewayPolicy (agentgateway.dev/v1alpha1): authentication, authorization and limits for a
// Gateway's traffic and its MCP backends. Field names are upstream's (the CRD of agentgateway's
// own controller), so existing policies read unchanged. Only the supported subset is modelled in
// full; every other field the upstream kind has is kept as an opaque value, so the translator can
// refuse the policy naming it instead of silently ignoring it. Fields upstream does not have are
// ignored, as for every other kind.
import { Schema } from "effect"
import { DnsLabel, ObjectMeta, PortNumber, StringMap } from "./meta.ts"

export const AGENTGATEWAY_GROUP = "agentgateway.dev"

/**
 * Upstream fields agentplane does not implement, by the path of the object that holds them
 * (`[]` = every item of a list). The translator refuses a policy that sets any of them.
 */
export const UNSUPPORTED_FIELDS = {
  spec: ["targetSelectors", "strategy", "frontend"],
  "spec.targetRefs[]": ["port"],
  "spec.traffic": ["extAuth", "extProc", "transformation", "timeouts", "retry", "headerModifiers", "hostRewrite", "csrf", "directResponse", "buffer", "delay"],
  "spec.traffic.jwtAuthentication.location": ["expression"],
  "spec.traffic.apiKeyAuthentication": ["configMapSelector"],
  "spec.traffic.apiKeyAuthentication.location": ["expression"],
  "spec.traffic.basicAuthentication.location": ["expression"],
  "spec.traffic.rateLimit": ["global", "conditional"],
  "spec.backend": ["ai", "extAuth", "health", "http", "tcp", "tls", "transformation", "tunnel"],
  "spec.backend.mcp": ["authentication", "guardrails"],
  "spec.backend.auth": ["aws", "azure", "gcp", "credentials", "crossAppAccess", "oauthTokenExchange"]
} as const

/** An upstream field agentplane does not implement: any value, only its presence is read. */
export const UnsupportedField = Schema.Unknown.annotate({ description: "not supported by agentplane" })

const unsupported = <const Path extends keyof typeof UNSUPPORTED_FIELDS>(
  path: Path
): { readonly [K in (typeof UNSUPPORTED_FIELDS)[Path][number]]: Schema.optionalKey<typeof UnsupportedField> } =>
  Object.fromEntries(UNSUPPORTED_FIELDS[path].map((name) => [name, Schema.optionalKey(UnsupportedField)])) as never

const exactlyOne =
  (fields: ReadonlyArray<string>) =>
  (value: object): string | undefined => {
    const set = fields.filter((field) => (value as Record<string, unknown>)[field] !== undefined)
    return set.length === 1 ? undefined : `exactly one of ${fields.join(", ")} must be set (found ${set.length === 0 ? "none" : set.join(", ")})`
  }

export const PolicyTargetReference = Schema.Struct({
  group: Schema.String,
  kind: Schema.NonEmptyString,
  name: Schema.NonEmptyString,
  sectionName: Schema.optionalKey(Schema.NonEmptyString),
  ...unsupported("spec.targetRefs[]")
})
export type PolicyTargetReference = typeof PolicyTargetReference.Type

/** Where a credential is read from (or, for backend auth, written to). */
const locationFields = {
  header: Schema.optionalKey(Schema.Struct({ name: Schema.NonEmptyString, prefix: Schema.optionalKey(Schema.NonEmptyString) })),
  queryParameter: Schema.optionalKey(Schema.Struct({ name: Schema.NonEmptyString })),
  cookie: Schema.optionalKey(Schema.Struct({ name: Schema.NonEmptyString }))
}
const location = <F extends Schema.Struct.Fields>(extra: F) =>
  Schema.Struct({ ...locationFields, ...extra }).check(Schema.makeFilter(exactlyOne(["header", "queryParameter", "cookie", "expression"])))
export type CredentialLocation = Schema.Struct.Type<typeof locationFields>

/** A reference to a Secret of the policy's namespace (`group`/`kind` other than core Secret are refused). */
export const SecretReference = Schema.Struct({
  group: Schema.optionalKey(Schema.String),
  kind: Schema.optionalKey(Schema.String),
  name: Schema.NonEmptyString
})
export const SecretKeyReference = Schema.Struct({ ...SecretReference.fields, key: Schema.optionalKey(Schema.NonEmptyString) })
export type SecretKeyReference = typeof SecretKeyReference.Type

/** Duration as the CRD writes it: `5m`, `1h30m`, `300s`, `500ms`. */
export const CrdDuration = Schema.String.check(Schema.isPattern(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/, { message: "must be a duration such as 5m, 1h or 300s" }))

export const RemoteJwks = Schema.Struct({
  backendRef: Schema.Struct({
    group: Schema.optionalKey(Schema.String),
    kind: Schema.optionalKey(Schema.String),
    name: Schema.NonEmptyString,
    namespace: Schema.optionalKey(DnsLabel),
    port: Schema.optionalKey(PortNumber)
  }),
  jwksPath: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(2000)),
  cacheDuration: Schema.optionalKey(CrdDuration)
})
export type RemoteJwks = typeof RemoteJwks.Type

export const JwtProvider = Schema.Struct({
  issuer: Schema.NonEmptyString,
  audiences: Schema.optionalKey(Schema.Array(Schema.String).check(Schema.isMinLength(1), Schema.isMaxLength(64))),
  jwks: Schema.Struct({
    inline: Schema.optionalKey(Schema.String.check(Schema.isMinLength(2), Schema.isMaxLength(65536))),
    remote: Schema.optionalKey(RemoteJwks)
  }).check(Schema.makeFilter(exactlyOne(["inline", "remote"])))
})
export type JwtProvider = typeof JwtProvider.Type

export const McpProvider = Schema.Literals(["Auth0", "Authentik", "Descope", "Entra", "Keycloak", "Okta"])

export const JwtAuthentication = Schema.Struct({
  mode: Schema.optionalKey(Schema.Literals(["Strict", "Optional", "Permissive"])),
  providers: Schema.Array(JwtProvider).check(Schema.isMinLength(1), Schema.isMaxLength(64)),
  location: Schema.optionalKey(location(unsupported("spec.traffic.jwtAuthentication.location"))),
  mcp: Schema.optionalKey(
    Schema.Struct({
      provider: Schema.optionalKey(McpProvider),
      resourceMetadata: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
      clientId: Schema.optionalKey(Schema.String)
    })
  )
}).check(
  Schema.makeFilter((jwt) =>
    jwt.mcp === undefined
      ? undefined
      : jwt.providers.length !== 1
        ? "mcp requires exactly one provider"
        : (jwt.mode ?? "Strict") !== "Strict"
          ? "mcp requires mode Strict"
          : undefined
  )
)
export type JwtAuthentication = typeof JwtAuthentication.Type

/** CEL rules; with `action` Allow they are OR-ed, with Require AND-ed, with Deny any match denies. */
export const Authorization = Schema.Struct({
  action: Schema.optionalKey(Schema.Literals(["Allow", "Deny", "Require"])),
  policy: Schema.Struct({
    matchExpressions: Schema.Array(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(16384))).check(Schema.isMinLength(1), Schema.isMaxLength(256))
  })
})
export type Authorization = typeof Authorization.Type

export const ApiKeyAuthentication = Schema.Struct({
  mode: Schema.optionalKey(Schema.Literals(["Strict", "Optional", "Permissive"])),
  secretRef: Schema.optionalKey(SecretReference),
  secretSelector: Schema.optionalKey(Schema.Struct({ matchLabels: StringMap })),
  location: Schema.optionalKey(location(unsupported("spec.traffic.apiKeyAuthentication.location"))),
  ...unsupported("spec.traffic.apiKeyAuthentication")
}).check(Schema.makeFilter(exactlyOne(["secretRef", "secretSelector", "configMapSelector"])))
export type ApiKeyAuthentication = typeof ApiKeyAuthentication.Type

export const BasicAuthentication = Schema.Struct({
  mode: Schema.optionalKey(Schema.Literals(["Strict", "Optional"])),
  realm: Schema.optionalKey(Schema.String),
  users: Schema.optionalKey(Schema.Array(Schema.String).check(Schema.isMinLength(1), Schema.isMaxLength(256))),
  secretRef: Schema.optionalKey(SecretKeyReference),
  location: Schema.optionalKey(location(unsupported("spec.traffic.basicAuthentication.location")))
}).check(Schema.makeFilter(exactlyOne(["users", "secretRef"])))
export type BasicAuthentication = typeof BasicAuthentication.Type

/** The Gateway API HTTPCORSFilter. */
export const Cors = Schema.Struct({
  allowCredentials: Schema.optionalKey(Schema.Boolean),
  allowHeaders: Schema.optionalKey(Schema.Array(Schema.String)),
  allowMethods: Schema.optionalKey(Schema.Array(Schema.Literals(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"]))),
  allowOrigins: Schema.optionalKey(Schema.Array(Schema.String)),
  exposeHeaders: Schema.optionalKey(Schema.Array(Schema.String)),
  maxAge: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
})
export type Cors = typeof Cors.Type

export const LocalRateLimit = Schema.Struct({
  requests: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  tokens: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  burst: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  unit: Schema.Literals(["Seconds", "Minutes", "Hours"])
}).check(Schema.makeFilter(exactlyOne(["requests", "tokens"])))
export type LocalRateLimit = typeof LocalRateLimit.Type

export const TrafficPolicy = Schema.Struct({
  phase: Schema.optionalKey(Schema.Literals(["PreRouting", "PostRouting"])),
  jwtAuthentication: Schema.optionalKey(JwtAuthentication),
  authorization: Schema.optionalKey(Authorization),
  apiKeyAuthentication: Schema.optionalKey(ApiKeyAuthentication),
  basicAuthentication: Schema.optionalKey(BasicAuthentication),
  cors: Schema.optionalKey(Cors),
  rateLimit: Schema.optionalKey(
    Schema.Struct({
      local: Schema.optionalKey(Schema.Array(LocalRateLimit).check(Schema.isMinLength(1), Schema.isMaxLength(16))),
      ...unsupported("spec.traffic.rateLimit")
    })
  ),
  ...unsupported("spec.traffic")
})
export type TrafficPolicy = typeof TrafficPolicy.Type

export const BackendAuth = Schema.Struct({
  passthrough: Schema.optionalKey(Schema.Struct({})),
  key: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2048))),
  secretRef: Schema.optionalKey(SecretKeyReference),
  location: Schema.optionalKey(Schema.Struct(locationFields).check(Schema.makeFilter(exactlyOne(["header", "queryParameter", "cookie"])))),
  ...unsupported("spec.backend.auth")
}).check(
  Schema.makeFilter((auth) => {
    const kinds = ["key", "secretRef", "passthrough", ...UNSUPPORTED_FIELDS["spec.backend.auth"]].filter(
      (field) => field !== "credentials" && (auth as Record<string, unknown>)[field] !== undefined
    )
    return kinds.length > 1 ? `at most one of key, secretRef, passthrough may be set (found ${kinds.join(", ")})` : undefined
  })
)
export type BackendAuth = typeof BackendAuth.Type

export const BackendPolicy = Schema.Struct({
  mcp: Schema.optionalKey(
    Schema.Struct({
      authorization: Schema.optionalKey(Authorization),
      ...unsupported("spec.backend.mcp")
    })
  ),
  auth: Schema.optionalKey(BackendAuth),
  ...unsupported("spec.backend")
})
export type BackendPolicy = typeof BackendPolicy.Type

export const AgentgatewayPolicy = Schema.Struct({
  apiVersion: Schema.Literal(`${AGENTGATEWAY_GROUP}/v1alpha1`),
  kind: Schema.Literal("AgentgatewayPolicy"),
  metadata: ObjectMeta,
  spec: Schema.Struct({
    targetRefs: Schema.optionalKey(
      Schema.Array(PolicyTargetReference)
        .check(Schema.isMinLength(1), Schema.isMaxLength(16))
        .check(
          Schema.makeFilter((refs) =>
            new Set(refs.map((ref) => ref.kind)).size > 1
              ? `only one kind of target per policy (found ${[...new Set(refs.map((ref) => ref.kind))].join(", ")}); split it into one policy per kind`
              : undefined
          )
        )
    ),
    traffic: Schema.optionalKey(TrafficPolicy),
    backend: Schema.optionalKey(BackendPolicy),
    ...unsupported("spec")
  }).check(
    Schema.makeFilter((spec) =>
      spec.traffic === undefined && spec.backend === undefined && spec.frontend === undefined
        ? "at least one of traffic or backend must be set"
        : spec.targetRefs === undefined && spec.targetSelectors === undefined
          ? "targetRefs must name at least one Gateway"
          : undefined
    )
  )
})
export type AgentgatewayPolicy = typeof AgentgatewayPolicy.Type
