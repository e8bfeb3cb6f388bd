// Node identity, clipping and NACK parsing: small pure pieces of the xDS server.
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Node } from "../../src/gen/envoy/config/core/v3/base.ts"
import { describeNack, DROPPED_NACK_MESSAGE, parseNack, withinNackBudget } from "../../src/xds/nack.ts"
import { clip } from "../../src/xds/limits.ts"
import { gatewayOf, nodeIdOf } from "../../src/xds/node.ts"

/** The Gateway named, or the refusal's message. */
const named = (node: Node | undefined) => Result.match(gatewayOf(node), { onSuccess: (value) => value, onFailure: (error) => error.message })

describe("gatewayOf", () => {
  it("reads GATEWAY_NAME and NAMESPACE from the node metadata", () => {
    expect(named(Node.fromPartial({ id: "n", metadata: { GATEWAY_NAME: "gw", NAMESPACE: "ns", role: "x~y" } }))).toEqual({ gateway: "ns/gw" })
  })
  it("falls back to role, split at the first ~", () => {
    expect(named(Node.fromPartial({ id: "n", metadata: { role: "ns~gw~extra" } }))).toEqual({ gateway: "ns/gw~extra" })
  })
  it("explains what is missing", () => {
    expect(named(undefined)).toMatch(/must carry the node/)
    expect(named(Node.fromPartial({ id: "n", metadata: { NAMESPACE: "ns" } }))).toMatch(/GATEWAY and NAMESPACE/)
    expect(named(Node.fromPartial({ id: "n", metadata: { role: "~gw" } }))).toMatch(/names no gateway/)
  })
  it("refuses names no Kubernetes object can have, without echoing them", () => {
    const huge = "x".repeat(1_000_000)
    const byName = named(Node.fromPartial({ id: "n", metadata: { GATEWAY_NAME: huge, NAMESPACE: "ns" } }))
    expect(byName).toBe(
      "the Gateway name in node metadata NAMESPACE/GATEWAY_NAME is 1000000 characters long, more than the 253 a Kubernetes Gateway name can have: start the proxy with GATEWAY and NAMESPACE naming its Gateway"
    )
    const byRole = named(Node.fromPartial({ id: "n", metadata: { role: `${"n".repeat(64)}~gw` } }))
    expect(byRole).toMatch(/^the namespace in node metadata role is 64 characters long, more than the 63/)
    expect(named(Node.fromPartial({ id: "n", metadata: { GATEWAY_NAME: "g".repeat(253), NAMESPACE: "n".repeat(63) } }))).toEqual({
      gateway: `${"n".repeat(63)}/${"g".repeat(253)}`
    })
  })
  it("never repeats a huge node id in its message", () => {
    const message = named(Node.fromPartial({ id: "i".repeat(10_000_000), metadata: {} }))
    expect(typeof message === "string" && message.length).toBeLessThan(500)
    expect(message).toContain("…(truncated, 10000000 bytes)")
  })
})

describe("nodeIdOf", () => {
  it("keeps ids up to 256 characters and clips longer ones with their size", () => {
    const normal = "agentgateway~127.0.0.1~gw-0.ns~ns.svc.cluster.local"
    expect(nodeIdOf(Node.fromPartial({ id: normal }))).toBe(normal)
    expect(nodeIdOf(Node.fromPartial({ id: "a".repeat(256) }))).toBe("a".repeat(256))
    expect(nodeIdOf(Node.fromPartial({ id: "a".repeat(10 * 1024 * 1024) }))).toBe(`${"a".repeat(256)}…(truncated, 10485760 bytes)`)
  })
})

describe("clip", () => {
  it("counts bytes, and never splits a character in two", () => {
    expect(clip("é".repeat(10), 4)).toBe("éééé…(truncated, 20 bytes)")
    expect(clip(`abc${"😀".repeat(3)}`, 4)).toBe("abc…(truncated, 15 bytes)")
    expect(clip("short", 5)).toBe("short")
  })
})

describe("parseNack", () => {
  it("tells errors from warnings", () => {
    expect(
      parseNack(
        JSON.stringify([
          { key: "route/a", error: "bad" },
          { key: "bind/b", warn: "meh" }
        ])
      )
    ).toEqual({
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

describe("NACK text limits", () => {
  it("clips every message to 1024 characters, and a message it does not understand too", () => {
    const long = "e".repeat(5 * 1024 * 1024)
    const parsed = parseNack(
      JSON.stringify([
        { key: "route/a", error: long },
        { key: "bind/b", warn: long }
      ])
    )
    const clipped = `${"e".repeat(1024)}…(truncated, ${5 * 1024 * 1024} bytes)`
    expect(parsed.errors).toEqual([{ name: "route/a", message: clipped }])
    expect(parsed.warnings).toEqual([{ name: "bind/b", message: clipped }])
    expect(parseNack(long).unparsed).toBe(clipped)
  })

  it("keeps one NACK's messages within 16 KiB, counting a repeated message once", () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({ name: `route/${i}`, message: String(i).padEnd(1000, ".") }))
    const kept = withinNackBudget(entries)
    expect(kept.slice(0, 16)).toEqual(entries.slice(0, 16))
    expect(kept.slice(16).every((entry) => entry.message === DROPPED_NACK_MESSAGE)).toBe(true)
    expect(kept.map((entry) => entry.name)).toEqual(entries.map((entry) => entry.name))
    const same = Array.from({ length: 1000 }, (_, i) => ({ name: `route/${i}`, message: "x".repeat(1000) }))
    expect(withinNackBudget(same)).toBe(same)
  })

  it("logs a message shared by many resources once, naming ten of them", () => {
    const entries = Array.from({ length: 25 }, (_, i) => ({ name: `r${i}`, message: "cannot apply" }))
    expect(describeNack([...entries, { name: "b", message: "other" }])).toBe("r0, r1, r2, r3, r4, r5, r6, r7, r8, r9 and 15 more: cannot apply; b: other")
  })
})
