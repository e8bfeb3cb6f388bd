// Node identity and NACK parsing: small pure pieces of the xDS server.
import { describe, expect, it } from "vitest"
import { Node } from "../../src/gen/envoy/config/core/v3/base.ts"
import { parseNack } from "../../src/xds/nack.ts"
import { identify } from "../../src/xds/node.ts"

describe("identify", () => {
  it("reads GATEWAY_NAME and NAMESPACE from the node metadata", () => {
    expect(identify(Node.fromPartial({ id: "n", metadata: { GATEWAY_NAME: "gw", NAMESPACE: "ns", role: "x~y" } })))
      .toEqual({ gateway: "ns/gw", nodeId: "n" })
  })
  it("falls back to role, split at the first ~", () => {
    expect(identify(Node.fromPartial({ id: "n", metadata: { role: "ns~gw~extra" } }))).toEqual({ gateway: "ns/gw~extra", nodeId: "n" })
  })
  it("explains what is missing", () => {
    expect(identify(undefined)).toMatch(/must carry the node/)
    expect(identify(Node.fromPartial({ id: "n", metadata: { NAMESPACE: "ns" } }))).toMatch(/GATEWAY and NAMESPACE/)
    expect(identify(Node.fromPartial({ id: "n", metadata: { role: "~gw" } }))).toMatch(/names no gateway/)
  })
})

describe("parseNack", () => {
  it("tells errors from warnings", () => {
    expect(parseNack(JSON.stringify([{ key: "route/a", error: "bad" }, { key: "bind/b", warn: "meh" }]))).toEqual({
      errors: [{ name: "route/a", message: "bad" }],
      warnings: [{ name: "bind/b", message: "meh" }],
      unparsed: undefined
    })
  })
  it("keeps a message it does not understand whole", () => {
    expect(parseNack("boom")).toEqual({ errors: [], warnings: [], unparsed: "boom" })
    expect(parseNack(JSON.stringify({ key: "x" })).unparsed).toBeDefined()
  })
})
