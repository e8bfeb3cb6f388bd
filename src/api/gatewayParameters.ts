// GatewayParameters (gateway.kgateway.dev/v1alpha1): how the proxies of a
// GatewayClass (or of one Gateway) are run and how they behave.
import { Schema } from "effect"
import { ObjectMeta } from "./meta.ts"

export const KGATEWAY_GROUP = "gateway.kgateway.dev"

/** How the proxy multiplexes the MCP targets of a listener; unset fields keep their defaults. */
export const McpSettings = Schema.Struct({
  /** `Always` (default): tools are always `<target>_<tool>`; `Conditional`: only with several targets; `Never` (agentgateway ≥ 1.4). */
  prefixMode: Schema.optionalKey(Schema.Literals(["Always", "Conditional", "Never"])),
  /** `Stateful` (default): the proxy issues MCP sessions; `Stateless`: every request stands alone. */
  sessionMode: Schema.optionalKey(Schema.Literals(["Stateful", "Stateless"])),
  /** `FailOpen` (default): a failing target is skipped; `FailClosed`: it fails the whole session. */
  failureMode: Schema.optionalKey(Schema.Literals(["FailOpen", "FailClosed"]))
})
export type McpSettings = typeof McpSettings.Type

export const GatewayParametersSpec = Schema.Struct({
  /** The user runs the proxy; agentplane only serves its configuration. */
  selfManaged: Schema.optionalKey(Schema.Struct({})),
  /** Proxies deployed by agentplane (read so that it can be refused clearly). */
  kube: Schema.optionalKey(Schema.Unknown),
  mcp: Schema.optionalKey(McpSettings)
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
