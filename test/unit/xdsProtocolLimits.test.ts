// The per-stream reducer against clients that send more than any proxy would: megabyte NACK
// text, warnings about resources never sent, type URLs we do not serve.
import { describe, expect, it } from "vitest"
import { DeltaDiscoveryRequest } from "../../src/gen/envoy/service/discovery/v3/discovery.ts"
import { Effect } from "effect"
import { Metrics } from "../../src/telemetry/metrics.ts"
import { MAX_NACK_TOTAL_CHARS, MAX_TYPES_PER_STREAM } from "../../src/xds/limits.ts"
import { initialState, step, type StreamOutput, type StreamState } from "../../src/xds/protocol.ts"
import { ADDRESS_TYPE_URL, contentVersion, type GatewayView, RESOURCE_TYPE_URL, typeUrlLabel, type VersionedResource } from "../../src/xds/snapshot.ts"

const resource = (name: string, content = "1"): VersionedResource => {
  const bytes = new TextEncoder().encode(`${name}|${content}`)
  return { name, version: contentVersion(bytes), bytes }
}
const NAMES = Array.from({ length: 40 }, (_, i) => `route/ns/gw.mcp.r${i}`)
const view: GatewayView = new Map([
  [RESOURCE_TYPE_URL, new Map(NAMES.map((name) => [name, resource(name)]))],
  [ADDRESS_TYPE_URL, new Map()]
])

const request = (fields: Parameters<typeof DeltaDiscoveryRequest.fromPartial>[0]) => ({
  _tag: "Request" as const,
  request: DeltaDiscoveryRequest.fromPartial(fields)
})

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
    const output = answered(
      step(state, request({ typeUrl: RESOURCE_TYPE_URL, responseNonce: nonce, errorDetail: { code: 0, message: JSON.stringify(entries) } }))[1]
    )
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

describe("type URLs the reducer serves", () => {
  const garbage = (i: number) => `type.googleapis.com/garbage.T${i}`

  it("answers a type it does not serve once, empty, and keeps no state for it", () => {
    const [state, nonce] = subscribed()
    const [after, [sent]] = step(state, request({ typeUrl: garbage(1), initialResourceVersions: { x: "1" } }))
    expect(sent?._tag).toBe("Send")
    if (sent?._tag !== "Send") return
    expect(sent.response.typeUrl).toBe(garbage(1))
    expect(sent.response.resources).toEqual([])
    expect(sent.response.removedResources).toEqual([])
    expect([...after.types.keys()]).toEqual([RESOURCE_TYPE_URL])
    expect([...after.inflight.keys()]).toEqual([nonce])
    // Asking again, or acknowledging that answer, changes nothing.
    const [again, repeated] = step(after, request({ typeUrl: garbage(1) }))
    expect(repeated.map((o) => o._tag)).toEqual(["Ignored"])
    expect(again).toBe(after)
    const [acked, ack] = step(after, request({ typeUrl: garbage(1), responseNonce: sent.response.nonce }))
    expect(ack.map((o) => o._tag)).toEqual(["Ignored"])
    expect(acked).toBe(after)
    // The served type is still answered as before.
    const [, answer] = step(after, request({ typeUrl: RESOURCE_TYPE_URL, responseNonce: nonce }))
    expect(answered(answer).confirmed.size).toBe(NAMES.length)
  })

  it(`refuses the stream at the ${MAX_TYPES_PER_STREAM + 1}th distinct type URL, served ones included`, () => {
    let [state] = subscribed()
    ;[state] = step(state, request({ typeUrl: ADDRESS_TYPE_URL }))
    for (let i = 0; i < MAX_TYPES_PER_STREAM - 2; i++) {
      const [next, outputs] = step(state, request({ typeUrl: garbage(i) }))
      expect(outputs.map((o) => o._tag)).toEqual(["Send"])
      state = next
    }
    expect(state.types.size).toBe(2)
    const [, refused] = step(state, request({ typeUrl: garbage(999) }))
    expect(refused).toEqual([
      {
        _tag: "Refuse",
        code: "RESOURCE_EXHAUSTED",
        reason: `the stream subscribed to more than 16 type URLs (the last ${garbage(999)}); agentplane serves ${RESOURCE_TYPE_URL} and ${ADDRESS_TYPE_URL}`
      }
    ])
    // A type already answered is still just ignored, and served types are served.
    expect(step(state, request({ typeUrl: garbage(0) }))[1].map((o) => o._tag)).toEqual(["Ignored"])
    expect(step(state, request({ typeUrl: RESOURCE_TYPE_URL }))[1].map((o) => o._tag)).toEqual(["Send"])
  })

  it("refuses a type URL longer than 256 characters without repeating it", () => {
    const [state] = subscribed()
    const [, [refused]] = step(state, request({ typeUrl: "t".repeat(1_000_000) }))
    expect(refused?._tag === "Refuse" && refused.code).toBe("INVALID_ARGUMENT")
    expect(refused?._tag === "Refuse" && refused.reason.length).toBeLessThan(300)
  })

  it("keeps one metric label value for every type the xDS server does not serve", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      for (let i = 0; i < 5000; i++) yield* metrics.pushed(typeUrlLabel(garbage(i)), "subscribe", 0)
      yield* metrics.pushed(typeUrlLabel(RESOURCE_TYPE_URL), "subscribe", 3)
      yield* metrics.nacked("ns/gw", typeUrlLabel(garbage(1)), 1)
      const text = yield* metrics.render([])
      expect(text).not.toContain("garbage")
      expect(text).toContain('agentplane_xds_pushes_total{trigger="subscribe",type_url="unknown"} 5000')
      expect(text).toContain(`agentplane_xds_pushes_total{trigger="subscribe",type_url="${RESOURCE_TYPE_URL}"} 1`)
      expect(text).toContain('agentplane_xds_nacks_total{gateway="ns/gw",type_url="unknown"} 1')
    }).pipe(Effect.provide(Metrics.layer), Effect.runPromise))
})
