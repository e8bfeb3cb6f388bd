// Policy status: our ancestor entries replaced, other controllers' kept in place, transition
// times kept while a condition holds, and a second merge of the same input changes nothing.
import { describe, expect, it } from "vitest"
import { type LivePolicyStatus, mergePolicyStatus, type PolicyAncestor } from "../../src/kube/policyStatusMerge.ts"
import { canonical } from "../../src/kube/statusMerge.ts"
import { condition } from "../../src/translate/conditions.ts"

const OURS = "kgateway.dev/kgateway"
const THEIRS = "example.com/other"
const T0 = "2026-01-01T00:00:00Z"
const T1 = "2026-02-02T00:00:00Z"

const accepted = (ok: boolean) => condition("Accepted", ok, ok ? "Accepted" : "TargetNotFound", ok ? "accepted" : "Gateway default/gone not found", 3)
const ancestor = (name: string, ok = true, sectionName?: string): PolicyAncestor => ({
  ancestorRef: { name, namespace: "default", ...(sectionName === undefined ? {} : { sectionName }) },
  controllerName: OURS,
  conditions: [accepted(ok)]
})
const foreign = {
  ancestorRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", namespace: "default" },
  controllerName: THEIRS,
  conditions: [{ type: "Accepted", status: "True" as const, reason: "Accepted", message: "theirs", lastTransitionTime: T0 }]
}

describe("mergePolicyStatus", () => {
  it("adds our entries with the API server's defaults filled in, after other controllers' entries", () => {
    const merged = mergePolicyStatus({ ancestors: [foreign] }, [ancestor("gw")], OURS, "default", T1)
    expect(merged.ancestors).toEqual([
      foreign,
      {
        ancestorRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", namespace: "default" },
        controllerName: OURS,
        conditions: [{ ...accepted(true), lastTransitionTime: T1 }]
      }
    ])
  })

  it("keeps a condition's transition time while its status holds, and is stable when merged again", () => {
    const first = mergePolicyStatus(undefined, [ancestor("gw")], OURS, "default", T0)
    const again = mergePolicyStatus(first, [ancestor("gw")], OURS, "default", T1)
    expect(canonical(again)).toBe(canonical(first))
    const flipped = mergePolicyStatus(first, [ancestor("gw", false)], OURS, "default", T1)
    expect(flipped.ancestors?.[0]?.conditions?.[0]).toMatchObject({ status: "False", reason: "TargetNotFound", lastTransitionTime: T1 })
  })

  it("replaces ours in place and drops ours no longer reported, never touching another controller's", () => {
    const live: LivePolicyStatus = {
      ancestors: [
        { ...ancestor("old"), conditions: [{ ...accepted(true), lastTransitionTime: T0 }] },
        foreign,
        { ...ancestor("gw"), conditions: [{ ...accepted(true), lastTransitionTime: T0 }] }
      ]
    }
    const merged = mergePolicyStatus(live, [ancestor("gw"), ancestor("gw", true, "mcp")], OURS, "default", T1)
    expect(merged.ancestors?.map((a) => `${a.controllerName} ${a.ancestorRef.name}/${a.ancestorRef.sectionName ?? ""}`)).toEqual([
      `${THEIRS} gw/`,
      `${OURS} gw/`,
      `${OURS} gw/mcp`
    ])
    expect(merged.ancestors?.[1]?.conditions?.[0]?.lastTransitionTime).toBe(T0)
    expect(merged.ancestors?.[0]).toBe(foreign)
  })

  it("matches an entry by ancestorRef: another controller's entry for the same Gateway is a separate entry", () => {
    const merged = mergePolicyStatus({ ancestors: [foreign] }, [], OURS, "default", T1)
    expect(merged.ancestors).toEqual([foreign])
  })

  it("drops conditions of ours it no longer reports, and keeps other status fields", () => {
    const live: LivePolicyStatus = {
      extra: 1,
      ancestors: [
        {
          ...ancestor("gw"),
          conditions: [
            { ...accepted(true), lastTransitionTime: T0 },
            { ...condition("Attached", true, "Attached", "x", 3), lastTransitionTime: T0 }
          ]
        }
      ]
    }
    const merged = mergePolicyStatus(live, [ancestor("gw")], OURS, "default", T1)
    expect(merged.extra).toBe(1)
    expect(merged.ancestors?.[0]?.conditions?.map((c) => c.type)).toEqual(["Accepted"])
  })
})
