// What `render` and `/debug/config_dump` show of a Policy: every credential replaced by a fixed
// marker (API keys, htpasswd content, the key sent upstream). Only the proxy gets the values.
import type { Resource } from "../../gen/agentgateway/resource.ts"

export const REDACTED = "<redacted>"

/** `resource` with its credentials replaced; the very same object when it holds none. */
export const redactSecrets = (resource: Resource): Resource => {
  if (resource.kind?.$case !== "policy") return resource
  const policy = resource.kind.value
  const spec = policy.kind
  if (spec?.$case === "traffic") {
    const kind = spec.value.kind
    if (kind?.$case === "apiKeyAuth") {
      const apiKeys = kind.value.apiKeys.map((user) => ({ ...user, key: REDACTED }))
      return withSpec(resource, { $case: "traffic", value: { ...spec.value, kind: { $case: "apiKeyAuth", value: { ...kind.value, apiKeys } } } })
    }
    if (kind?.$case === "basicAuth") {
      return withSpec(resource, {
        $case: "traffic",
        value: { ...spec.value, kind: { $case: "basicAuth", value: { ...kind.value, htpasswdContent: REDACTED } } }
      })
    }
  }
  if (spec?.$case === "backend" && spec.value.kind?.$case === "auth" && spec.value.kind.value.kind?.$case === "key") {
    const key = spec.value.kind.value.kind.value
    return withSpec(resource, {
      $case: "backend",
      value: { ...spec.value, kind: { $case: "auth", value: { ...spec.value.kind.value, kind: { $case: "key", value: { ...key, secret: REDACTED } } } } }
    })
  }
  return resource
}

type PolicySpec = NonNullable<Extract<NonNullable<Resource["kind"]>, { $case: "policy" }>["value"]["kind"]>

const withSpec = (resource: Resource, spec: PolicySpec): Resource => {
  const policy = (resource.kind as Extract<NonNullable<Resource["kind"]>, { $case: "policy" }>).value
  return { kind: { $case: "policy", value: { ...policy, kind: spec } } }
}
