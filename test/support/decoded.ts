// Input objects for unit tests, decoded as a source would decode them; a
// fixture that does not decode fails the test at once, naming why.
import { decodeObject, type InputObject } from "../../src/api/objects.ts"

export const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

/** The GatewayClass of agentplane's default controller name, called `mcp`. */
export const mcpGatewayClass = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: "mcp" },
  spec: { controllerName: "kgateway.dev/kgateway" }
}
