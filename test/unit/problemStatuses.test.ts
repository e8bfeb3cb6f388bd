// An object with a problem has one status, and its Accepted condition says what is wrong, even
// while an earlier version of it is served: render, config_dump and the status writer all read
// this one list.
import { describe, expect, it } from "vitest"
import type { SourceProblem } from "../../src/world/source.ts"
import { configDump } from "../../src/admin/configDump.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { statusesWithProblems, type ConditionsStatus, type GatewayStatus } from "../../src/translate/status.ts"
import { translate } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/world/world.ts"
import { buildSnapshot, emptySnapshot } from "../../src/xds/snapshot.ts"
import { decoded, mcpGatewayClass } from "../support/decoded.ts"

const world = worldFromObjects(
  [
    mcpGatewayClass,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "ns", generation: 2 },
      spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
    }
  ].map(decoded)
)
const translation = translate(world, defaultTranslateOptions)

/** As the sources report an object whose newest version does not decode while its last good one serves. */
const stale: SourceProblem = {
  origin: "cluster",
  kind: "Gateway",
  namespace: "ns",
  name: "gw",
  field: "spec.listeners[0].allowedRoutes.namespaces",
  message: "from: Selector needs a selector; add selector.matchLabels or selector.matchExpressions, or use Same or All; its last good version is still used"
}

describe("statuses with problems", () => {
  it("give a served Gateway whose newest version is unreadable one entry, Accepted=False naming the field", () => {
    const statuses = statusesWithProblems(translation.statuses, [stale])
    const gateways = statuses.filter((s) => s.kind === "Gateway")
    expect(gateways).toHaveLength(1)
    const status = gateways[0]!.status as GatewayStatus
    expect(status.conditions[0]).toEqual({
      type: "Accepted",
      status: "False",
      reason: "Invalid",
      message:
        "cluster: Gateway ns/gw spec.listeners[0].allowedRoutes.namespaces from: Selector needs a selector; add selector.matchLabels or selector.matchExpressions, or use Same or All; its last good version is still used"
    })
    // What is served is still described: Programmed and the listeners of the served version.
    expect(status.conditions.map((c) => c.type)).toEqual(["Accepted", "Programmed"])
    expect(status.listeners.map((l) => l.name)).toEqual(["mcp"])
  })

  it("are what config_dump shows: no second, contradicting entry for the same object", () => {
    const statuses = statusesWithProblems(translation.statuses, [stale])
    const dump = configDump({ snapshot: buildSnapshot(translation, emptySnapshot), statuses, problems: [stale] })
    const accepted = dump.statuses
      .filter((s) => s.name === "gw")
      .map((s) => (s.status as ConditionsStatus).conditions.find((c) => c.type === "Accepted")!.status)
    expect(accepted).toEqual(["False"])
  })

  it("add an entry for an object that was never readable, and leave the others as they were", () => {
    const unread: SourceProblem = {
      origin: "gw.yaml",
      document: 0,
      kind: "Gateway",
      namespace: "ns",
      name: "broken",
      field: "spec.listeners",
      message: "needs at least one listener"
    }
    const statuses = statusesWithProblems(translation.statuses, [unread])
    expect(statuses.map((s) => `${s.kind}/${s.name}`)).toEqual(["Gateway/broken", "Gateway/gw", "GatewayClass/mcp"])
    expect((statuses.find((s) => s.name === "broken")!.status as ConditionsStatus).conditions).toEqual([
      { type: "Accepted", status: "False", reason: "Invalid", message: "gw.yaml (document 1): Gateway ns/broken spec.listeners needs at least one listener" }
    ])
    for (const entry of translation.statuses) expect(statuses).toContain(entry)
    expect(statusesWithProblems(translation.statuses, [])).toBe(translation.statuses)
  })

  it("join several problems of one object in one capped message", () => {
    const many = Array.from({ length: 500 }, (_, i): SourceProblem => ({ ...stale, message: `problem ${i} ${"x".repeat(100)}` }))
    const accepted = (statusesWithProblems(translation.statuses, many).find((s) => s.name === "gw")!.status as ConditionsStatus).conditions[0]!
    expect(accepted.message.length).toBeLessThanOrEqual(32_768)
    expect(accepted.message).toMatch(/… \(message truncated\)$/)
  })
})
