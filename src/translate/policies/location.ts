// Where a credential is read from or written to: the CRD's `location` as the proxy's message.
import type { CredentialLocation } from "../../api/agentgatewayPolicy.ts"
import type { AuthorizationLocation } from "../../gen/agentgateway/resource.ts"

export const authorizationLocation = (location: CredentialLocation | undefined): AuthorizationLocation | undefined => {
  if (location === undefined) return undefined
  if (location.header !== undefined) {
    return {
      kind: { $case: "header", value: { name: location.header.name, ...(location.header.prefix === undefined ? {} : { prefix: location.header.prefix }) } }
    }
  }
  if (location.queryParameter !== undefined) return { kind: { $case: "queryParameter", value: { name: location.queryParameter.name } } }
  if (location.cookie !== undefined) return { kind: { $case: "cookie", value: { name: location.cookie.name } } }
  return undefined
}
