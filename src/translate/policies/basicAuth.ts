// traffic.basicAuthentication → TrafficPolicySpec.BasicAuthentication: htpasswd lines inline
// (`users`) or the whole file from a Secret (key `.htaccess` unless secretRef.key says otherwise).
import type { BasicAuthentication } from "../../api/agentgatewayPolicy.ts"
import { TrafficPolicySpec_BasicAuthentication_Mode, type TrafficPolicySpec_BasicAuthentication } from "../../gen/agentgateway/resource.ts"
import type { PolicyContext } from "./context.ts"
import { authorizationLocation } from "./location.ts"
import { lookupSecret } from "./secrets.ts"

const FIELD = "spec.traffic.basicAuthentication"
export const DEFAULT_HTPASSWD_KEY = ".htaccess"

const htpasswdOf = (basic: BasicAuthentication, context: PolicyContext): string => {
  if (basic.users !== undefined) return basic.users.join("\n")
  const ref = basic.secretRef!
  const lookup = lookupSecret(context.world, context.namespace, `${FIELD}.secretRef`, ref)
  if (lookup._tag === "WrongKind") {
    context.findings.refuse(lookup.message)
    return ""
  }
  if (lookup._tag === "Missing") {
    context.findings.gap(`${lookup.message}; until then every request is refused`)
    return ""
  }
  const key = ref.key ?? DEFAULT_HTPASSWD_KEY
  const content = lookup.values.get(key)
  if (content === undefined) {
    context.findings.gap(
      `${FIELD}.secretRef: Secret ${context.namespace}/${ref.name} has no key ${JSON.stringify(key)}; until it does every request is refused`
    )
    return ""
  }
  return content
}

export const basicAuthPart = (basic: BasicAuthentication, context: PolicyContext): TrafficPolicySpec_BasicAuthentication => ({
  htpasswdContent: htpasswdOf(basic, context),
  ...(basic.realm === undefined ? {} : { realm: basic.realm }),
  mode: basic.mode === "Optional" ? TrafficPolicySpec_BasicAuthentication_Mode.OPTIONAL : TrafficPolicySpec_BasicAuthentication_Mode.STRICT,
  authorizationLocation: authorizationLocation(basic.location)
})
