// Which Secrets agentplane watches: exactly those its policies reference, by name (a watch with
// a `metadata.name` field selector) or by label selector, in the policy's namespace. Never all
// Secrets of the cluster: a Secret no policy names is never read.
import type { AgentgatewayPolicy } from "../api/agentgatewayPolicy.ts"
import { namespaceOf } from "../api/meta.ts"
import type { World } from "../world/world.ts"

/** A Secret a policy references: one by name, or those of a namespace matching labels. */
export type SecretReference =
  | { readonly _tag: "Name"; readonly namespace: string; readonly name: string }
  | { readonly _tag: "Selector"; readonly namespace: string; readonly matchLabels: Readonly<Record<string, string>> }

/** One narrow watch of Secrets; `id` identifies it across passes (same id, same watch). */
export interface SecretWatch {
  readonly id: string
  readonly namespace: string
  readonly fieldSelector?: string
  readonly labelSelector?: string
}

// What the API server accepts as label keys and values: anything else could not match a label,
// and could change the meaning of the selector string it would be written into.
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** `a=1,b=2` in key order; undefined when a key or value could never be a label. */
export const labelSelectorOf = (matchLabels: Readonly<Record<string, string>>): string | undefined => {
  const entries = Object.entries(matchLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (entries.some(([key, value]) => !LABEL_NAME.test(key) || key.length > 317 || !LABEL_VALUE.test(value))) return undefined
  return entries.map(([key, value]) => `${key}=${value}`).join(",")
}

/**
 * The watches that cover `references`, one per Secret name and one per namespace and selector,
 * sorted by id. References no Secret could satisfy (a malformed name or label) need no watch.
 */
export const secretWatchesFor = (references: Iterable<SecretReference>): ReadonlyArray<SecretWatch> => {
  const watches = new Map<string, SecretWatch>()
  for (const reference of references) {
    if (!DNS_SUBDOMAIN.test(reference.namespace)) continue
    if (reference._tag === "Name") {
      if (reference.name.length > 253 || !DNS_SUBDOMAIN.test(reference.name)) continue
      const id = `name:${reference.namespace}/${reference.name}`
      watches.set(id, { id, namespace: reference.namespace, fieldSelector: `metadata.name=${reference.name}` })
    } else {
      const labelSelector = labelSelectorOf(reference.matchLabels)
      if (labelSelector === undefined) continue
      const id = `labels:${reference.namespace}/${labelSelector}`
      watches.set(id, { id, namespace: reference.namespace, labelSelector })
    }
  }
  return [...watches.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** As the translator reads references (translate/policies/secrets.ts): anything else reads no Secret. */
const isCoreSecret = (ref: { readonly group?: string; readonly kind?: string }) => (ref.group ?? "") === "" && (ref.kind ?? "Secret") === "Secret"

/**
 * The Secrets one policy reads, in its own namespace: API keys (by name or labels), htpasswd users,
 * the credential sent to backends. A reference to anything but a core Secret reads no Secret.
 */
export const policySecretReferences = (policy: AgentgatewayPolicy): ReadonlyArray<SecretReference> => {
  const namespace = namespaceOf(policy.metadata)
  const references: Array<SecretReference> = []
  const byName = (ref: { readonly name: string; readonly group?: string; readonly kind?: string } | undefined) => {
    if (ref !== undefined && isCoreSecret(ref)) references.push({ _tag: "Name", namespace, name: ref.name })
  }
  const apiKeys = policy.spec.traffic?.apiKeyAuthentication
  byName(apiKeys?.secretRef)
  if (apiKeys?.secretSelector !== undefined) references.push({ _tag: "Selector", namespace, matchLabels: apiKeys.secretSelector.matchLabels })
  byName(policy.spec.traffic?.basicAuthentication?.secretRef)
  byName(policy.spec.backend?.auth?.secretRef)
  return references
}

/** Every Secret watch the World's policies need. */
export const secretWatchesOf = (world: World): ReadonlyArray<SecretWatch> =>
  secretWatchesFor([...world.agentgatewayPolicies.values()].flatMap(policySecretReferences))
