// CustomResourceDefinitions generated from our Schemas, so that the API
// server validates what the translator will decode. Effect's JSON Schema is
// turned into a Kubernetes structural schema; rules JSON Schema cannot say
// are added as CEL validations.
import { Schema } from "effect"
import { GatewayParametersSpec, KGATEWAY_GROUP } from "./gatewayParameters.ts"

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
  if (schema["type"] === "array") {
    return { type: "array", ...description, items: structural((schema["items"] ?? {}) as JsonSchema) }
  }
  if (typeof schema["type"] === "string") {
    const kept = ["type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "format"]
    return { ...Object.fromEntries(kept.filter((key) => key in schema).map((key) => [key, schema[key]])), ...description }
  }
  // An empty Struct ("any non-null value") is an empty object; Unknown keeps whatever it is given.
  if ("not" in schema) return { type: "object", ...description }
  return { type: "object", "x-kubernetes-preserve-unknown-fields": true, ...description }
}

export const gatewayParametersCrd = () => {
  const spec = structural(Schema.toJsonSchemaDocument(GatewayParametersSpec).schema as JsonSchema)
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
      versions: [{
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
                "x-kubernetes-validations": [{
                  rule: "!(has(self.selfManaged) && has(self.kube))",
                  message: "selfManaged and kube are mutually exclusive: keep one of them"
                }]
              },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true }
            }
          }
        }
      }]
    }
  }
}
