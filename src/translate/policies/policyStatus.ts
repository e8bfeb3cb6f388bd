// Gateway API policy status for an AgentgatewayPolicy: one ancestor per target, each with
// `Accepted` (Valid, PartiallyValid, Invalid, TargetNotFound) and `Attached` (Attached, Pending),
// the reasons agentgateway's own controller writes, under agentplane's controller name.
import { AGENTGATEWAY_GROUP, type AgentgatewayPolicy } from "../../api/agentgatewayPolicy.ts"
import { namespaceOf } from "../../api/meta.ts"
import { condition, type Condition } from "../conditions.ts"
import type { PolicyTranslation } from "./policy.ts"
import type { AncestorRef } from "./targets.ts"

export interface PolicyAncestorStatus {
  readonly ancestorRef: AncestorRef
  readonly controllerName: string
  readonly conditions: ReadonlyArray<Condition>
}

export interface PolicyStatus {
  readonly ancestors: ReadonlyArray<PolicyAncestorStatus>
}

const refString = (ref: AncestorRef): string => `${ref.group}/${ref.kind}/${ref.namespace}/${ref.name}/${ref.sectionName ?? ""}`

const describeTarget = (ref: AncestorRef): string =>
  `${ref.kind} ${ref.namespace}/${ref.name}${ref.sectionName === undefined ? "" : ` listener ${ref.sectionName}`}`

/** Undefined when no target is ours (every one a Gateway of another controller). */
export const policyStatus = (policy: AgentgatewayPolicy, translation: PolicyTranslation, controllerName: string): PolicyStatus | undefined => {
  const generation = policy.metadata.generation
  const refused = translation.refusals.length > 0
  const refusal = translation.refusals.join("; ")
  const notAttached = condition("Attached", false, "Pending", "not attached: the policy is not accepted", generation)
  const ancestors: Array<PolicyAncestorStatus> = []
  const add = (ancestorRef: AncestorRef, conditions: ReadonlyArray<Condition>) => ancestors.push({ ancestorRef, controllerName, conditions })
  for (const resolution of translation.resolutions) {
    switch (resolution._tag) {
      case "Foreign":
        break
      case "Unsupported":
        add(resolution.ancestor, [condition("Accepted", false, "Invalid", refusal, generation), notAttached])
        break
      case "NotFound":
        add(resolution.ancestor, [
          condition("Accepted", false, "TargetNotFound", refused ? `${resolution.message}; ${refusal}` : resolution.message, generation),
          condition("Attached", false, "Pending", `not attached: ${resolution.message}`, generation)
        ])
        break
      case "Attached":
        add(resolution.ancestor, [
          refused
            ? condition("Accepted", false, "Invalid", `nothing of the policy is sent: ${refusal}`, generation)
            : translation.gaps.length > 0
              ? condition("Accepted", true, "PartiallyValid", `sent without what failed: ${translation.gaps.join("; ")}`, generation)
              : condition("Accepted", true, "Valid", "the policy is accepted", generation),
          refused ? notAttached : condition("Attached", true, "Attached", `attached to ${describeTarget(resolution.ancestor)}`, generation)
        ])
        break
    }
  }
  // A refusal with no target to report it on (no targetRefs at all) is reported on a summary entry, as upstream does.
  if (ancestors.length === 0 && refused && translation.resolutions.length === 0) {
    add({ group: AGENTGATEWAY_GROUP, kind: "AgentgatewayPolicy", namespace: namespaceOf(policy.metadata), name: "StatusSummary" }, [
      condition("Accepted", false, "Invalid", refusal, generation),
      notAttached
    ])
  }
  if (ancestors.length === 0) return undefined
  return { ancestors: ancestors.sort((a, b) => (refString(a.ancestorRef) < refString(b.ancestorRef) ? -1 : 1)) }
}
