// traffic.cors and traffic.rateLimit.local: no credentials, no references, only shapes.
import type { Cors, LocalRateLimit } from "../../api/agentgatewayPolicy.ts"
import { TrafficPolicySpec_LocalRateLimit_Type, type TrafficPolicySpec_CORS, type TrafficPolicySpec_LocalRateLimit } from "../../gen/agentgateway/resource.ts"

/** The CRD's default maxAge; always sent, as the Go controller does. */
const DEFAULT_CORS_MAX_AGE_S = 5

export const corsPart = (cors: Cors): TrafficPolicySpec_CORS => ({
  allowCredentials: cors.allowCredentials ?? false,
  allowHeaders: [...(cors.allowHeaders ?? [])],
  allowMethods: [...(cors.allowMethods ?? [])],
  allowOrigins: [...(cors.allowOrigins ?? [])],
  exposeHeaders: [...(cors.exposeHeaders ?? [])],
  maxAge: { seconds: cors.maxAge ?? DEFAULT_CORS_MAX_AGE_S, nanos: 0 }
})

const FILL_INTERVAL_S = { Seconds: 1, Minutes: 60, Hours: 3600 } as const

/** A token bucket: `requests` (or `tokens`) per unit, plus `burst` on top. */
export const localRateLimitPart = (limit: LocalRateLimit): TrafficPolicySpec_LocalRateLimit => {
  const perFill = limit.requests ?? limit.tokens ?? 1
  return {
    maxTokens: perFill + (limit.burst ?? 0),
    tokensPerFill: perFill,
    fillInterval: { seconds: FILL_INTERVAL_S[limit.unit], nanos: 0 },
    type: limit.requests === undefined ? TrafficPolicySpec_LocalRateLimit_Type.TOKEN : TrafficPolicySpec_LocalRateLimit_Type.REQUEST
  }
}
