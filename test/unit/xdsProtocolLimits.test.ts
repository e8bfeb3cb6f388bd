// The per-stream reducer against clients that send more than any proxy would: megabyte NACK
// text, warnings about resources never sent.
import { describe, expect, it } from "vitest"
import { DeltaDiscoveryRequest } from "../../src/gen/envoy/service/discovery/v3/discovery.ts"
import { MAX_NACK_TOTAL_CHARS } from "../../src/xds/limits.ts"
import { initialState, step, type StreamOutput, type StreamState } from "../../src/xds/protocol.ts"
import { ADDRESS_TYPE_URL, contentVersion, type GatewayView, RESOURCE_TYPE_URL, type VersionedResource } from "../../src/xds/snapshot.ts"

const resource = (name: string, content = "1"): VersionedResource => {
  const bytes = new TextEncoder().encode(`${name}|${content}`)
  return { name, version: contentVersion(bytes), bytes }
}
const NAMES = Array.from({ length: 40 }, (_, i) => `route/ns/gw.mcp.r${i}`)
const view: GatewayView = new Map([[RESOURCE_TYPE_URL, new Map(NAMES.map((name) => [name, resource(name)]))], [ADDRESS_TYPE_URL, new Map()]])

const request = (fields: Parameters<typeof DeltaDiscoveryRequest.fromPartial>[0]) => ({ _tag: "Request" as const, request: DeltaDiscoveryRequest.fromPartial(fields) })

const subscribed = (): [StreamState, string] => {
  const [state, [sent]] = step(initialState("s.", view), request({ typeUrl: RESOURCE_TYPE_URL }))
  if (sent?._tag !== "Send") throw new Error("no response to the subscription")
  return [state, sent.response.nonce]
}

const answered = (outputs: ReadonlyArray<StreamOutput>) => {
  const [output] = outputs
  if (output?._tag !== "Answered") throw new Error(`expected Answered, got ${output?._tag}`)
  return output
}

const refusedText = (output: ReturnType<typeof answered>) =>
  [...new Set([...output.refused.values()].flatMap((versions) => [...versions.values()]))].join("").length

describe("NACK text the reducer keeps", () => {
  it("keeps one clipped copy of a megabyte message it does not understand, for every resource", () => {
    const [state, nonce] = subscribed()
    const nack = request({ typeUrl: RESOURCE_TYPE_URL, responseNonce: nonce, errorDetail: { code: 0, message: "x".repeat(5 * 1024 * 1024) } })
    const output = answered(step(state, nack)[1])
    expect(output.errors.map((e) => e.name).sort()).toEqual([...NAMES].sort())
    for (const error of output.errors) expect(error.message).toBe(`${"x".repeat(1024)}…(truncated, ${5 * 1024 * 1024} bytes)`)
    expect(refusedText(output)).toBeLessThan(1100)
  })

  it("keeps at most 16 KiB of distinct messages per NACK, and each resource is still refused", () => {
    const [state, nonce] = subscribed()
    const entries = NAMES.map((key, i) => ({ key, error: `${i}: ${"y".repeat(100_000)}` }))
    const output = answered(step(state, request({ typeUrl: RESOURCE_TYPE_URL, responseNonce: nonce, errorDetail: { code: 0, message: JSON.stringify(entries) } }))[1])
    expect(output.errors).toHaveLength(NAMES.length)
    expect(output.refused.size).toBe(NAMES.length)
    expect(output.confirmed.size).toBe(0)
    expect(refusedText(output)).toBeLessThan(MAX_NACK_TOTAL_CHARS + 200)
  })

  it("drops warnings and errors about resources the response did not carry", () => {
    const [state, nonce] = subscribed()
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ key: `made-up/${i}`, warn: "w" }))
    const message = JSON.stringify([...entries, { key: "made-up/x", error: "e" }, { key: NAMES[0], warn: "fine" }])
    const output = answered(step(state, request({ typeUrl: RESOURCE_TYPE_URL, responseNonce: nonce, errorDetail: { code: 0, message } }))[1])
    expect(output.warnings).toEqual([{ name: NAMES[0], message: "fine" }])
    expect(output.errors).toEqual([])
    expect(output.confirmed.size).toBe(NAMES.length)
  })
})
