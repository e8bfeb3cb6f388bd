// Schemas shared by every Kubernetes object we read. Only the fields
// agentplane looks at are modelled; everything else passes through unread.
import { Schema } from "effect"

/** RFC 1123 label: namespaces, Service names, port names. */
export const DnsLabel = Schema.String.check(
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    message: "must be a lowercase RFC 1123 label (a-z, 0-9, '-'; starting and ending alphanumeric)"
  }),
  Schema.isMaxLength(63)
)

/** RFC 1035 label: Service names (they become DNS labels, so no dots and a leading letter). */
export const Rfc1035Label = Schema.String.check(
  Schema.isPattern(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, {
    message: "must be a lowercase RFC 1035 label (a-z, 0-9, '-'; starting with a letter, ending alphanumeric)"
  }),
  Schema.isMaxLength(63)
)

/** IANA service name: Service port names (at most 15 characters, at least one letter). */
export const PortName = Schema.String.check(
  Schema.isPattern(/^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$|^[a-z]$/, {
    message: "must be an IANA service name: lowercase letters, digits and single '-', at least one letter, at most 15 characters"
  }),
  Schema.isMaxLength(15)
)

/** RFC 1123 subdomain: most object names. */
export const DnsSubdomain = Schema.String.check(
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: "must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-' and '.')"
  }),
  Schema.isMaxLength(253)
)

export const PortNumber = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }, { message: "must be a port number from 1 to 65535" }))

export const StringMap = Schema.Record(Schema.String, Schema.String)

export const ObjectMeta = Schema.Struct({
  name: DnsSubdomain,
  namespace: Schema.optionalKey(DnsLabel),
  /** Set by the API server; managed proxy objects name their Gateway by it (owner references). */
  uid: Schema.optionalKey(Schema.String),
  generation: Schema.optionalKey(Schema.Int),
  labels: Schema.optionalKey(StringMap),
  annotations: Schema.optionalKey(StringMap)
})
export type ObjectMeta = typeof ObjectMeta.Type

/** Objects without a namespace land in `default`, as with kubectl. */
export const DEFAULT_NAMESPACE = "default"

export const namespaceOf = (meta: ObjectMeta): string => meta.namespace ?? DEFAULT_NAMESPACE

/** `namespace/name`, the key of a namespaced object. */
export const keyOf = (meta: ObjectMeta): string => `${namespaceOf(meta)}/${meta.name}`

export const LabelSelectorRequirement = Schema.Struct({
  key: Schema.String,
  operator: Schema.Literals(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: Schema.optionalKey(Schema.Array(Schema.String))
})

export const LabelSelector = Schema.Struct({
  matchLabels: Schema.optionalKey(StringMap),
  matchExpressions: Schema.optionalKey(Schema.Array(LabelSelectorRequirement))
})
export type LabelSelector = typeof LabelSelector.Type
