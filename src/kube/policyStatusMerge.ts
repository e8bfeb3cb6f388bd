// Merging our entries into a policy's live `status.ancestors[]` (Gateway API policy status):
// an entry is one controller's verdict on one ancestor, identified by `controllerName` and
// `ancestorRef`. Ours are replaced (those we no longer report are dropped), other controllers'
// are kept where they are, so two controllers writing the same policy never undo each other.
import type { Condition } from "../translate/conditions.ts"
import type { PolicyStatus } from "../translate/policies/policyStatus.ts"
import { type LiveCondition, mergeConditions } from "./statusMerge.ts"

/** A Gateway API `ParentReference` as policy status carries it. */
export interface AncestorRef {
  readonly group?: string
  readonly kind?: string
  readonly namespace?: string
  readonly name: string
  readonly sectionName?: string
  readonly port?: number
}

export interface PolicyAncestor {
  readonly ancestorRef: AncestorRef
  readonly controllerName: string
  readonly conditions: ReadonlyArray<Condition>
}

export interface LivePolicyAncestor {
  readonly ancestorRef: AncestorRef
  readonly controllerName: string
  readonly conditions?: ReadonlyArray<LiveCondition>
}

export interface LivePolicyStatus {
  readonly ancestors?: ReadonlyArray<LivePolicyAncestor>
  readonly [field: string]: unknown
}

const GATEWAY_GROUP = "gateway.networking.k8s.io"

/**
 * The reference with the API server's defaults filled in (group and kind default to a Gateway),
 * so that what we compute compares equal to what the API server stored.
 */
export const withRefDefaults = (ref: AncestorRef): AncestorRef => ({ ...ref, group: ref.group ?? GATEWAY_GROUP, kind: ref.kind ?? "Gateway" })

/** Identity of an entry; an absent namespace is the policy's own. */
const entryKey = (controllerName: string, ref: AncestorRef, policyNamespace: string): string => {
  const full = withRefDefaults(ref)
  return [controllerName, full.group, full.kind, ref.namespace ?? policyNamespace, ref.name, ref.sectionName ?? "", ref.port ?? ""].join("\u0000")
}

/**
 * `ours`: every ancestor entry of `controllerName` that should be there now. Live entries of other
 * controllers keep their place; ours are updated in place (their lastTransitionTime kept while a
 * condition's status holds), dropped when no longer reported, and new ones appended.
 */
export const mergePolicyStatus = (
  live: LivePolicyStatus | undefined,
  ours: ReadonlyArray<PolicyAncestor>,
  controllerName: string,
  policyNamespace: string,
  now: string
): LivePolicyStatus => {
  const desired = new Map(ours.map((entry) => [entryKey(controllerName, entry.ancestorRef, policyNamespace), entry]))
  const placed = new Set<string>()
  const merge = (entry: PolicyAncestor, before: LivePolicyAncestor | undefined): LivePolicyAncestor => ({
    ancestorRef: withRefDefaults(entry.ancestorRef),
    controllerName,
    // The entry is ours alone: conditions we no longer report go with it.
    conditions: mergeConditions(before?.conditions, entry.conditions, now).slice(0, entry.conditions.length)
  })
  const ancestors: Array<LivePolicyAncestor> = []
  for (const entry of live?.ancestors ?? []) {
    if (entry.controllerName !== controllerName) {
      ancestors.push(entry)
      continue
    }
    const key = entryKey(controllerName, entry.ancestorRef, policyNamespace)
    const next = desired.get(key)
    // A duplicate of one of ours, or one we no longer report: dropped.
    if (next === undefined || placed.has(key)) continue
    placed.add(key)
    ancestors.push(merge(next, entry))
  }
  for (const [key, entry] of desired) if (!placed.has(key)) ancestors.push(merge(entry, undefined))
  return { ...live, ancestors }
}

/** A policy's entry among the translator's statuses: its ancestors as agentplane sees them. */
export interface PolicyStatusEntry {
  readonly kind: "AgentgatewayPolicy"
  readonly namespace: string
  readonly name: string
  readonly status: PolicyStatus
}

export const POLICY_API_VERSION = "agentgateway.dev/v1alpha1"

/**
 * Whether a status entry is a policy's ancestors. A policy that could not be read at all has
 * conditions only: policy status has no place for them (its Events say what is wrong), so it is
 * not written.
 */
export const isPolicyStatus = (entry: { readonly kind: string; readonly status: unknown }): entry is PolicyStatusEntry =>
  entry.kind === "AgentgatewayPolicy" && Array.isArray((entry.status as { ancestors?: unknown }).ancestors)

export const policyStatusPath = (entry: PolicyStatusEntry): string =>
  `/apis/${POLICY_API_VERSION}/namespaces/${entry.namespace}/agentgatewaypolicies/${entry.name}`

/** The status entry of a policy none of whose ancestors is ours. */
export const withoutOurAncestors = (policy: { readonly metadata: { readonly name: string; readonly namespace?: string } }): PolicyStatusEntry => ({
  kind: "AgentgatewayPolicy",
  namespace: policy.metadata.namespace ?? "default",
  name: policy.metadata.name,
  status: { ancestors: [] }
})
