// The AgentgatewayPolicy CRD, generated from our Schema: agentgateway's group, version and kind,
// and only the fields agentplane implements, so that the API server refuses every other field at
// apply time (kubectl's strict field validation) instead of storing what would not be served.
// Upstream fields the Schema keeps only to refuse them by name (UNSUPPORTED_FIELDS) are left
// out; the Schema's one-of rules become CEL validations.
import { Schema } from "effect"
import { AGENTGATEWAY_GROUP, AgentgatewayPolicy, CrdDuration, UNSUPPORTED_FIELDS } from "./agentgatewayPolicy.ts"
import { structural, withAt } from "./crd.ts"
import { DnsLabel } from "./meta.ts"

type JsonSchema = Readonly<Record<string, unknown>>

const unsupportedAt = new Map<string, ReadonlySet<string>>(Object.entries(UNSUPPORTED_FIELDS).map(([path, names]) => [path, new Set<string>(names)]))

/** The largest integer upstream's int32 fields take; the Schema's bound is JavaScript's. */
const INT32_MAX = 2_147_483_647

/** `schema` without the unsupported fields (paths as in UNSUPPORTED_FIELDS: `spec.traffic`, `spec.targetRefs[]`). */
const withoutUnsupported = (schema: JsonSchema, path: string): JsonSchema => {
  if (schema["type"] === "integer" && typeof schema["maximum"] === "number" && schema["maximum"] > INT32_MAX) {
    return { ...schema, maximum: INT32_MAX, format: "int32" }
  }
  const properties = schema["properties"] as Record<string, JsonSchema> | undefined
  const items = schema["items"] as JsonSchema | undefined
  if (properties !== undefined) {
    const dropped = unsupportedAt.get(path) ?? new Set<string>()
    const required = schema["required"] as ReadonlyArray<string> | undefined
    return {
      ...schema,
      properties: Object.fromEntries(
        Object.entries(properties)
          .filter(([name]) => !dropped.has(name))
          .map(([name, property]) => [name, withoutUnsupported(property, `${path}.${name}`)])
      ),
      ...(required === undefined ? {} : { required: required.filter((name) => !dropped.has(name)) })
    }
  }
  if (items !== undefined) return { ...schema, items: withoutUnsupported(items, `${path}[]`) }
  return schema
}

const exactlyOne = (fields: ReadonlyArray<string>) => ({
  rule: `[${fields.map((f) => `has(self.${f})`).join(", ")}].filter(x, x).size() == 1`,
  message: `exactly one of ${fields.join(", ")} must be set`
})

const location = (path: ReadonlyArray<string>) => [path, [exactlyOne(["header", "queryParameter", "cookie"])]] as const

/** A reference to a core Secret of the policy's namespace: no other group or kind. */
const coreSecretOnly = {
  rule: "(!has(self.group) || self.group == '') && (!has(self.kind) || self.kind == 'Secret')",
  message: 'only a core Secret may be referenced (group "", kind Secret)'
}

/** The target kinds upstream allows, with their groups; the translator says which it serves. */
const TARGET_KINDS =
  "(r.kind == 'Gateway' || r.kind == 'HTTPRoute') && r.group == 'gateway.networking.k8s.io' || r.kind == 'AgentgatewayBackend' && r.group == 'agentgateway.dev'"

/** The RegExp of a Schema's `isPattern` check: Effect's JSON Schema leaves RegExps out (dialects differ), the CRD needs them. */
const patternOf = (schema: Schema.Top): string => {
  const check = (schema.ast.checks ?? []).find((c) => (c.annotations?.["representation"] as { id?: string } | undefined)?.id === "effect/schema/isPattern")
  const source = (check?.annotations?.["representation"] as { payload?: { source?: string } } | undefined)?.payload?.source
  if (source === undefined) throw new Error("the schema has no isPattern check")
  return source
}

const REMOTE_JWKS = ["traffic", "jwtAuthentication", "providers", "items", "jwks", "remote"]

/**
 * What the JSON Schema export loses or upstream adds: upstream's bounds on the strings the CEL
 * rules compare (the API server estimates a rule's cost from them), the Schema's patterns, and
 * upstream's floor on how often key sets are fetched.
 */
const bounds: ReadonlyArray<readonly [ReadonlyArray<string>, JsonSchema]> = [
  [["targetRefs", "items", "group"], { maxLength: 253 }],
  [["targetRefs", "items", "kind"], { maxLength: 63 }],
  [["targetRefs", "items", "name"], { maxLength: 253 }],
  [["targetRefs", "items", "sectionName"], { maxLength: 253 }],
  [[...REMOTE_JWKS, "backendRef", "namespace"], { pattern: patternOf(DnsLabel) }],
  [
    [...REMOTE_JWKS, "cacheDuration"],
    {
      maxLength: 32,
      pattern: patternOf(CrdDuration),
      "x-kubernetes-validations": [{ rule: "duration(self) >= duration('5m')", message: "cacheDuration must be at least 5m (as agentgateway's CRD requires)" }]
    }
  ]
]

/** CEL for what the Schema's filters check, by the path (property names, `items`) of the node they belong to. */
const validations: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<{ readonly rule: string; readonly message: string }>]> = [
  [[], [{ rule: "has(self.traffic) || has(self.backend)", message: "at least one of traffic or backend must be set" }]],
  [
    ["targetRefs"],
    [
      {
        rule: `self.all(r, ${TARGET_KINDS})`,
        message: "targetRefs may name Gateways and HTTPRoutes (group gateway.networking.k8s.io) or AgentgatewayBackends (group agentgateway.dev)"
      },
      { rule: "self.all(a, self.all(b, a.kind == b.kind))", message: "only one kind of target per policy: split it into one policy per kind" }
    ]
  ],
  [
    ["traffic", "jwtAuthentication"],
    [
      {
        rule: "!has(self.mcp) || (size(self.providers) == 1 && (!has(self.mode) || self.mode == 'Strict'))",
        message: "mcp requires exactly one provider and mode Strict"
      }
    ]
  ],
  [["traffic", "jwtAuthentication", "providers", "items", "jwks"], [exactlyOne(["inline", "remote"])]],
  location(["traffic", "jwtAuthentication", "location"]),
  [["traffic", "apiKeyAuthentication"], [exactlyOne(["secretRef", "secretSelector"])]],
  [["traffic", "apiKeyAuthentication", "secretRef"], [coreSecretOnly]],
  location(["traffic", "apiKeyAuthentication", "location"]),
  [["traffic", "basicAuthentication"], [exactlyOne(["users", "secretRef"])]],
  [["traffic", "basicAuthentication", "secretRef"], [coreSecretOnly]],
  location(["traffic", "basicAuthentication", "location"]),
  [["traffic", "rateLimit", "local", "items"], [exactlyOne(["requests", "tokens"])]],
  // Upstream requires one kind of credential; the others it has are not supported.
  [["backend", "auth"], [exactlyOne(["key", "secretRef", "passthrough"])]],
  [["backend", "auth", "secretRef"], [coreSecretOnly]],
  location(["backend", "auth", "location"])
]

/** Gateway API policy status (PolicyAncestorStatus), as agentplane and other controllers write it. */
const policyStatus: JsonSchema = {
  type: "object",
  description: "Each controller's verdict on the policy, per ancestor (Gateway) it applies to.",
  properties: {
    ancestors: {
      type: "array",
      maxItems: 16,
      items: {
        type: "object",
        required: ["ancestorRef", "controllerName", "conditions"],
        properties: {
          ancestorRef: {
            type: "object",
            required: ["name"],
            properties: {
              group: { type: "string", default: "gateway.networking.k8s.io", maxLength: 253 },
              kind: { type: "string", default: "Gateway", minLength: 1, maxLength: 63 },
              namespace: { type: "string", minLength: 1, maxLength: 63 },
              name: { type: "string", minLength: 1, maxLength: 253 },
              sectionName: { type: "string", minLength: 1, maxLength: 253 },
              port: { type: "integer", format: "int32", minimum: 1, maximum: 65535 }
            }
          },
          controllerName: { type: "string", minLength: 1, maxLength: 253 },
          conditions: {
            type: "array",
            minItems: 1,
            maxItems: 8,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
            items: {
              type: "object",
              required: ["type", "status", "reason", "message", "lastTransitionTime"],
              properties: {
                type: { type: "string", maxLength: 316 },
                status: { type: "string", enum: ["True", "False", "Unknown"] },
                reason: { type: "string", minLength: 1, maxLength: 1024 },
                message: { type: "string", maxLength: 32768 },
                observedGeneration: { type: "integer", format: "int64", minimum: 0 },
                lastTransitionTime: { type: "string", format: "date-time" }
              }
            }
          }
        }
      }
    }
  },
  required: ["ancestors"]
}

export const agentgatewayPolicyCrd = () => {
  const generated = structural(withoutUnsupported(Schema.toJsonSchemaDocument(AgentgatewayPolicy.fields.spec).schema as JsonSchema, "spec"))
  // Values of MCP protected-resource metadata are any JSON (strings, lists, objects).
  const metadataValues = withAt(generated, ["traffic", "jwtAuthentication", "mcp", "resourceMetadata"], {
    additionalProperties: { "x-kubernetes-preserve-unknown-fields": true }
  })
  // Without targetSelectors (not supported), targetRefs is how a policy names its targets.
  const bounded = bounds.reduce((schema, [path, extra]) => withAt(schema, path, extra), metadataValues)
  const spec = validations.reduce(
    (schema, [path, rules]) => withAt(schema, path, { "x-kubernetes-validations": rules }),
    withAt(bounded, [], { required: ["targetRefs"], description: "Authentication, authorization and limits for the traffic of the targets." })
  )
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `agentgatewaypolicies.${AGENTGATEWAY_GROUP}`,
      labels: { "app.kubernetes.io/part-of": "agentplane", "gateway.networking.k8s.io/policy": "Direct" }
    },
    spec: {
      group: AGENTGATEWAY_GROUP,
      names: {
        kind: "AgentgatewayPolicy",
        listKind: "AgentgatewayPolicyList",
        plural: "agentgatewaypolicies",
        singular: "agentgatewaypolicy",
        shortNames: ["agpol"],
        categories: ["agentgateway"]
      },
      scope: "Namespaced",
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            {
              name: "Accepted",
              type: "string",
              jsonPath: ".status.ancestors[*].conditions[?(@.type=='Accepted')].status",
              description: "Accepted, per ancestor"
            },
            {
              name: "Attached",
              type: "string",
              jsonPath: ".status.ancestors[*].conditions[?(@.type=='Attached')].status",
              description: "Attached, per ancestor"
            },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description:
                "AgentgatewayPolicy secures the traffic of Gateways and their MCP backends (the subset of agentgateway's kind that agentplane serves).",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec,
                status: policyStatus
              },
              required: ["spec"]
            }
          }
        }
      ]
    }
  }
}
