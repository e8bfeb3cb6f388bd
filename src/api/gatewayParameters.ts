// GatewayParameters (gateway.kgateway.dev/v1alpha1): how the proxies of a
// GatewayClass (or of one Gateway) are run and how they behave.
import { Schema } from "effect"
import { ObjectMeta } from "./meta.ts"

export const KGATEWAY_GROUP = "gateway.kgateway.dev"

/** How the proxy multiplexes the MCP targets of a listener; unset fields keep their defaults. */
export const McpSettings = Schema.Struct({
  prefixMode: Schema.optionalKey(Schema.Literals(["Always", "Conditional", "Never"]).annotate({
    description:
      "How tool and prompt names carry their target: Always (default) prefixes every name with '<target>_', so names never change when servers come and go; Conditional only when there are several targets; Never (agentgateway 1.4 and later) never."
  })),
  sessionMode: Schema.optionalKey(Schema.Literals(["Stateful", "Stateless"]).annotate({
    description: "Stateful (default): the proxy issues MCP sessions; Stateless: every request stands alone."
  })),
  failureMode: Schema.optionalKey(Schema.Literals(["FailOpen", "FailClosed"]).annotate({
    description: "FailOpen (default): a failing target is skipped; FailClosed: any failing target fails the session."
  }))
}).annotate({ description: "How the proxy multiplexes the MCP servers of a listener. Unset fields keep their defaults." })
export type McpSettings = typeof McpSettings.Type

export const GatewayParametersSpec = Schema.Struct({
  selfManaged: Schema.optionalKey(Schema.Struct({}).annotate({
    description: "You run the agentgateway proxy yourself; agentplane only serves its configuration over xDS."
  })),
  kube: Schema.optionalKey(Schema.Unknown.annotate({
    description: "Proxies deployed by agentplane. Not supported yet: Gateways using it are not accepted."
  })),
  mcp: Schema.optionalKey(McpSettings)
}).annotate({
  description:
    "Parameters of the Gateways of a GatewayClass (spec.parametersRef) or of one Gateway (spec.infrastructure.parametersRef); a Gateway's set fields override its class's."
}).check(
  Schema.makeFilter((spec) =>
    spec.selfManaged !== undefined && spec.kube !== undefined
      ? "selfManaged and kube are mutually exclusive: keep one of them"
      : undefined
  )
)

export const GatewayParameters = Schema.Struct({
  apiVersion: Schema.Literal(`${KGATEWAY_GROUP}/v1alpha1`),
  kind: Schema.Literal("GatewayParameters"),
  metadata: ObjectMeta,
  spec: GatewayParametersSpec
})
export type GatewayParameters = typeof GatewayParameters.Type
