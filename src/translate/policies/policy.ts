// One AgentgatewayPolicy → its Policy resources (one per kind × attached target) and its verdict.
// Refusals (an unsupported field, a CEL expression that does not parse, a target kind agentplane
// cannot attach to) send nothing of the policy; gaps (a missing Secret, keys not fetched yet)
// send the rest and make it PartiallyValid.
import type { AgentgatewayPolicy } from "../../api/agentgatewayPolicy.ts"
import { namespaceOf } from "../../api/meta.ts"
import { Resource, TrafficPolicySpec_PolicyPhase, type Policy, type TrafficPolicySpec } from "../../gen/agentgateway/resource.ts"
import type { World } from "../../world/world.ts"
import { xdsName } from "../names.ts"
import type { TranslateOptions } from "../options.ts"
import type { NamedResource } from "../resources.ts"
import { apiKeyPart } from "./apiKey.ts"
import { rulesPart } from "./authorization.ts"
import { backendAuthPart } from "./backendAuth.ts"
import { basicAuthPart } from "./basicAuth.ts"
import type { PolicyContext } from "./context.ts"
import { Findings } from "./findings.ts"
import { jwtPart } from "./jwt.ts"
import { policyKey, type PartKind } from "./keys.ts"
import { corsPart, localRateLimitPart } from "./limits.ts"
import { resolveTargets, type TargetResolution } from "./targets.ts"
import { unsupportedFieldsOf, unsupportedMessage } from "./unsupported.ts"

interface Part {
  readonly kind: PartKind
  readonly spec: NonNullable<Policy["kind"]>
}

export interface PolicyTranslation {
  readonly resolutions: ReadonlyArray<TargetResolution>
  readonly refusals: ReadonlyArray<string>
  readonly gaps: ReadonlyArray<string>
  /** By Gateway key; empty when the policy is refused. */
  readonly resources: ReadonlyMap<string, ReadonlyArray<NamedResource>>
}

/** Kinds the proxy honours before route selection (PreRouting). */
const PRE_ROUTING = new Set<PartKind>(["jwt", "rbac", "apikeyauth", "basicauth", "cors"])

const partsOf = (policy: AgentgatewayPolicy, context: PolicyContext): ReadonlyArray<Part> => {
  const parts: Array<Part> = []
  const traffic = policy.spec.traffic
  if (traffic !== undefined) {
    const phase = traffic.phase === "PreRouting" ? TrafficPolicySpec_PolicyPhase.GATEWAY : TrafficPolicySpec_PolicyPhase.ROUTE
    const add = (kind: PartKind, value: NonNullable<TrafficPolicySpec["kind"]>) =>
      parts.push({ kind, spec: { $case: "traffic", value: { phase, kind: value } } })
    if (traffic.jwtAuthentication !== undefined) add("jwt", { $case: "jwt", value: jwtPart(traffic.jwtAuthentication, context) })
    if (traffic.authorization !== undefined) {
      add("rbac", { $case: "authorization", value: rulesPart(traffic.authorization, "spec.traffic.authorization", context) })
    }
    if (traffic.apiKeyAuthentication !== undefined) add("apikeyauth", { $case: "apiKeyAuth", value: apiKeyPart(traffic.apiKeyAuthentication, context) })
    if (traffic.basicAuthentication !== undefined) add("basicauth", { $case: "basicAuth", value: basicAuthPart(traffic.basicAuthentication, context) })
    if (traffic.cors !== undefined) add("cors", { $case: "cors", value: corsPart(traffic.cors) })
    const local = traffic.rateLimit?.local
    if (local !== undefined) {
      if (local.length > 1) {
        context.findings.refuse(
          `spec.traffic.rateLimit.local[1]: agentplane applies one local rate limit per policy; keep one entry, or split them into several policies`
        )
      }
      add("rl-local", { $case: "localRateLimit", value: localRateLimitPart(local[0]!) })
    }
    if (traffic.phase === "PreRouting") {
      const late = parts.filter((part) => !PRE_ROUTING.has(part.kind)).map((part) => part.kind)
      if (late.length > 0) {
        context.findings.refuse(
          `spec.traffic.phase: PreRouting applies only jwtAuthentication, authorization, apiKeyAuthentication, basicAuthentication and cors, not rateLimit; move the rate limit to a PostRouting policy`
        )
      }
    }
  }
  const backend = policy.spec.backend
  if (backend?.mcp?.authorization !== undefined) {
    parts.push({
      kind: "mcp-authorization",
      spec: {
        $case: "backend",
        value: { kind: { $case: "mcpAuthorization", value: rulesPart(backend.mcp.authorization, "spec.backend.mcp.authorization", context) } }
      }
    })
  }
  if (backend?.auth !== undefined) {
    const auth = backendAuthPart(backend.auth, context)
    if (auth !== undefined) parts.push({ kind: "backend-auth", spec: { $case: "backend", value: { kind: { $case: "auth", value: auth } } } })
  }
  return parts
}

export const translatePolicy = (world: World, options: TranslateOptions, policy: AgentgatewayPolicy): PolicyTranslation => {
  const namespace = namespaceOf(policy.metadata)
  const name = policy.metadata.name
  const findings = new Findings()
  findings.refuse(unsupportedMessage(unsupportedFieldsOf(policy)))
  const resolutions = resolveTargets(world, options, policy)
  for (const resolution of resolutions) if (resolution._tag === "Unsupported") findings.refuse(resolution.message)
  const parts = partsOf(policy, { world, options, namespace, findings })
  const resources = new Map<string, Array<NamedResource>>()
  if (findings.refusals.length === 0) {
    for (const resolution of resolutions) {
      if (resolution._tag !== "Attached") continue
      const list = resources.get(resolution.gatewayKey) ?? []
      for (const part of parts) {
        const key = policyKey(part.kind, namespace, name, resolution.target)
        list.push({
          name: xdsName("policy", key),
          resource: Resource.fromPartial({
            kind: {
              $case: "policy",
              value: {
                key,
                name: { kind: "AgentgatewayPolicy", name, namespace },
                target: { kind: { $case: "gateway", value: { ...resolution.target } } },
                kind: part.spec
              }
            }
          })
        })
      }
      resources.set(resolution.gatewayKey, list)
    }
  }
  return { resolutions, refusals: findings.refusals, gaps: findings.gaps, resources }
}
