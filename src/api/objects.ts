// Decoding of one untyped Kubernetes object into the kinds agentplane reads.
// Used by every source (YAML files, the Kubernetes watch), so that a bad
// object is reported the same way wherever it comes from.
import { Predicate, Result, Schema, SchemaIssue } from "effect"
import { AGENTGATEWAY_GROUP, AgentgatewayPolicy } from "./agentgatewayPolicy.ts"
import { Namespace, Secret, Service } from "./core.ts"
import { Gateway, GatewayClass } from "./gatewayApi.ts"
import { GatewayParameters } from "./gatewayParameters.ts"

export type InputObject = GatewayClass | Gateway | GatewayParameters | Service | Namespace | AgentgatewayPolicy | Secret
export type InputKind = InputObject["kind"]

const schemas = {
  GatewayClass,
  Gateway,
  GatewayParameters,
  Service,
  Namespace,
  AgentgatewayPolicy,
  Secret
} as const

export const INPUT_KINDS = Object.keys(schemas) as ReadonlyArray<InputKind>

/** API group of each kind; a same-named kind of another group (Istio's Gateway) is not ours. */
const groups: Record<InputKind, string> = {
  GatewayClass: "gateway.networking.k8s.io",
  Gateway: "gateway.networking.k8s.io",
  GatewayParameters: "gateway.kgateway.dev",
  Service: "",
  Namespace: "",
  AgentgatewayPolicy: AGENTGATEWAY_GROUP,
  Secret: ""
}

const groupOf = (apiVersion: string): string => (apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "")

/** One reason an object was refused, with the path of the offending field. */
export interface FieldIssue {
  readonly field: string
  readonly message: string
}

export type DecodeOutcome =
  | { readonly _tag: "Decoded"; readonly object: InputObject }
  | { readonly _tag: "Ignored"; readonly apiVersion: string; readonly kind: string }
  | {
      readonly _tag: "Invalid"
      readonly kind: string
      readonly namespace: string | undefined
      readonly name: string | undefined
      readonly issues: ReadonlyArray<FieldIssue>
    }

const isInputKind = (kind: unknown): kind is InputKind => Predicate.isString(kind) && Object.hasOwn(schemas, kind)

const stringAt = (value: unknown, key: string): string | undefined =>
  Predicate.isObject(value) && Predicate.isString((value as Record<string, unknown>)[key]) ? (value as Record<string, string>)[key] : undefined

/** `spec.ports[1].port`: the path form users know from kubectl. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, key) => (Predicate.isNumber(key) ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`), "") || "(object)"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

export const decodeObject = (raw: unknown): DecodeOutcome => {
  const kind = stringAt(raw, "kind")
  const apiVersion = stringAt(raw, "apiVersion") ?? ""
  if (!isInputKind(kind)) {
    if (kind === undefined) {
      return {
        _tag: "Invalid",
        kind: "(unknown)",
        namespace: undefined,
        name: undefined,
        issues: [{ field: "kind", message: "is missing; every object needs apiVersion and kind" }]
      }
    }
    return { _tag: "Ignored", apiVersion, kind }
  }
  if (groupOf(apiVersion) !== groups[kind]) return { _tag: "Ignored", apiVersion, kind }
  const result = Schema.decodeUnknownResult(schemas[kind] as Schema.Codec<InputObject, unknown>)(raw, { errors: "all", onExcessProperty: "ignore" })
  if (Result.isSuccess(result)) return { _tag: "Decoded", object: result.success }
  const metadata = Predicate.isObject(raw) ? (raw as Record<string, unknown>)["metadata"] : undefined
  return {
    _tag: "Invalid",
    kind,
    namespace: stringAt(metadata, "namespace"),
    name: stringAt(metadata, "name"),
    issues: formatter(result.failure.issue).issues.map((issue) => ({
      field: formatPath(
        (issue.path ?? []).map((segment) => (Predicate.isObject(segment) && "key" in segment ? (segment.key as PropertyKey) : (segment as PropertyKey)))
      ),
      message: issue.message
    }))
  }
}
