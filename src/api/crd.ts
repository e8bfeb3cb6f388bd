// CustomResourceDefinitions generated from our Schemas, so that the API
// server validates what the translator will decode. Effect's JSON Schema is
// turned into a Kubernetes structural schema; rules JSON Schema cannot say
// are added as CEL validations.
import { Schema } from "effect"
import { GatewayParametersSpec, KGATEWAY_GROUP, RESERVED_ENV } from "./gatewayParameters.ts"

type JsonSchema = Readonly<Record<string, unknown>>

/** Kubernetes requires a type on every node and forbids `properties` beside `additionalProperties`. */
export const structural = (schema: JsonSchema): JsonSchema => {
  const description = typeof schema["description"] === "string" ? { description: schema["description"] } : {}
  const properties = schema["properties"] as Record<string, JsonSchema> | undefined
  if (properties !== undefined) {
    const required = schema["required"] as ReadonlyArray<string> | undefined
    return {
      type: "object",
      ...description,
      properties: Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, structural(property)])),
      ...(required === undefined || required.length === 0 ? {} : { required })
    }
  }
  if (schema["type"] === "object" && typeof schema["additionalProperties"] === "object") {
    return { type: "object", ...description, additionalProperties: structural(schema["additionalProperties"] as JsonSchema) }
  }
  // A string-or-integer union (Kubernetes quantities) is what controller-gen emits for them.
  const anyOf = schema["anyOf"] as ReadonlyArray<JsonSchema> | undefined
  if (anyOf !== undefined && anyOf.length === 2 && anyOf.some((s) => s["type"] === "string") && anyOf.some((s) => s["type"] === "integer")) {
    const pattern = anyOf.find((s) => s["type"] === "string")?.["pattern"]
    return {
      anyOf: [{ type: "integer" }, { type: "string" }],
      ...(pattern === undefined ? {} : { pattern }),
      "x-kubernetes-int-or-string": true,
      ...description
    }
  }
  if (schema["type"] === "array") {
    const bounds = Object.fromEntries(["minItems", "maxItems"].filter((key) => key in schema).map((key) => [key, schema[key]]))
    return { type: "array", ...description, ...bounds, items: structural((schema["items"] ?? {}) as JsonSchema) }
  }
  if (typeof schema["type"] === "string") {
    const kept = ["type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "format"]
    return { ...Object.fromEntries(kept.filter((key) => key in schema).map((key) => [key, schema[key]])), ...description }
  }
  // An empty Struct ("any non-null value") is an empty object; Unknown keeps whatever it is given.
  if ("not" in schema) return { type: "object", ...description }
  return { type: "object", "x-kubernetes-preserve-unknown-fields": true, ...description }
}

/** A copy of `schema` with `extra` merged into the node at `path` (a list of property names). */
export const withAt = (schema: JsonSchema, path: ReadonlyArray<string>, extra: JsonSchema): JsonSchema => {
  if (path.length === 0) return { ...schema, ...extra }
  const [head, ...rest] = path as [string, ...Array<string>]
  if (head === "items") return { ...schema, items: withAt(schema["items"] as JsonSchema, rest, extra) }
  const properties = schema["properties"] as Record<string, JsonSchema>
  return { ...schema, properties: { ...properties, [head]: withAt(properties[head]!, rest, extra) } }
}

export const gatewayParametersCrd = () => {
  // Rules JSON Schema cannot say, as CEL: the same refusals as the Schema's filters.
  const spec = withAt(structural(Schema.toJsonSchemaDocument(GatewayParametersSpec).schema as JsonSchema), ["kube", "agentgateway", "env", "items"], {
    "x-kubernetes-validations": [
      {
        rule: `!(self.name in [${RESERVED_ENV.map((name) => `'${name}'`).join(", ")}])`,
        message: `${RESERVED_ENV.join(", ")} are set by agentplane (the proxy's identity, xDS channel and session key)`
      }
    ]
  })
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `gatewayparameters.${KGATEWAY_GROUP}`,
      labels: { "app.kubernetes.io/part-of": "agentplane" }
    },
    spec: {
      group: KGATEWAY_GROUP,
      names: {
        kind: "GatewayParameters",
        listKind: "GatewayParametersList",
        plural: "gatewayparameters",
        singular: "gatewayparameters",
        categories: ["kgateway"]
      },
      scope: "Namespaced",
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Prefix", type: "string", jsonPath: ".spec.mcp.prefixMode", description: "MCP tool name prefixes" },
            { name: "Sessions", type: "string", jsonPath: ".spec.mcp.sessionMode", description: "MCP session mode" },
            { name: "Failure", type: "string", jsonPath: ".spec.mcp.failureMode", description: "MCP failure mode" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "GatewayParameters say how the agentgateway proxies of a GatewayClass or Gateway run and behave.",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: {
                  ...spec,
                  "x-kubernetes-validations": [
                    {
                      rule: "!(has(self.selfManaged) && has(self.kube))",
                      message: "selfManaged and kube are mutually exclusive: keep one of them"
                    }
                  ]
                },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true }
              }
            }
          }
        }
      ]
    }
  }
}
