// GatewayParameters (gateway.kgateway.dev/v1alpha1): how the proxies of a
// GatewayClass (or of one Gateway) are run and how they behave.
import { Schema } from "effect"
import { ObjectMeta } from "./meta.ts"

export const KGATEWAY_GROUP = "gateway.kgateway.dev"

export const GatewayParameters = Schema.Struct({
  apiVersion: Schema.Literal(`${KGATEWAY_GROUP}/v1alpha1`),
  kind: Schema.Literal("GatewayParameters"),
  metadata: ObjectMeta,
  spec: Schema.Struct({
    /** The user runs the proxy; agentplane only serves its configuration. */
    selfManaged: Schema.optionalKey(Schema.Struct({})),
    /** Proxies deployed by agentplane (read so that it can be refused clearly). */
    kube: Schema.optionalKey(Schema.Unknown)
  })
})
export type GatewayParameters = typeof GatewayParameters.Type
