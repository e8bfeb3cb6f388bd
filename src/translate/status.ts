// Status of every object the translator judged, in the Gateway API's shape.
import { describeProblem, type SourceProblem } from "../world/source.ts"
import { condition, type Condition } from "./conditions.ts"
import type { PolicyStatus } from "./policies/policyStatus.ts"

export interface RouteGroupKind {
  readonly group: string
  readonly kind: string
}

export interface ListenerStatus {
  readonly name: string
  readonly supportedKinds: ReadonlyArray<RouteGroupKind>
  readonly attachedRoutes: number
  readonly conditions: ReadonlyArray<Condition>
}

export interface GatewayAddress {
  readonly type: "IPAddress" | "Hostname"
  readonly value: string
}

export interface GatewayStatus {
  readonly conditions: ReadonlyArray<Condition>
  readonly listeners: ReadonlyArray<ListenerStatus>
  /** Known only for the proxies agentplane deploys itself (from their Service). */
  readonly addresses?: ReadonlyArray<GatewayAddress>
}

export interface ConditionsStatus {
  readonly conditions: ReadonlyArray<Condition>
}

export type ObjectStatus =
  | { readonly kind: "GatewayClass"; readonly name: string; readonly status: ConditionsStatus }
  | { readonly kind: "Gateway"; readonly namespace: string; readonly name: string; readonly status: GatewayStatus }
  /** Gateway API policy status: one entry per ancestor (targeted Gateway). */
  | { readonly kind: "AgentgatewayPolicy"; readonly namespace: string; readonly name: string; readonly status: PolicyStatus }
  | ProblemStatus

/** An input object that could not be read: it names the field and the fix. */
export interface ProblemStatus {
  readonly kind: string
  readonly namespace?: string
  readonly name: string
  readonly status: ConditionsStatus
}

/** The `namespace/name` of a Gateway's status entry: the key of its gateway in snapshots and proxies. */
export const gatewayKeyOf = (entry: ObjectStatus): string => `${(entry as { namespace: string }).namespace}/${entry.name}`

/** Identifies an object's status entry; statuses are sorted by it. */
export const statusKey = (status: ObjectStatus): string => `${status.kind}/${"namespace" in status ? (status.namespace ?? "") : ""}/${status.name}`

/** Each sort key is built once, not at every comparison (this runs on every translation). */
export const sortStatuses = (statuses: ReadonlyArray<ObjectStatus>): ReadonlyArray<ObjectStatus> =>
  statuses
    .map((status) => ({ key: statusKey(status), status }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ status }) => status)

/**
 * Every object's status once, with the problems of reading it in its Accepted condition: an
 * object whose newest version could not be read (or that is defined twice) is `Accepted=False`
 * even while an earlier version is served, so `render`, `config_dump` and the status written to
 * the cluster all say what is wrong with it. Objects with nothing else to report get an entry of
 * their own. Entries without problems are kept as they are (the same objects).
 */
export const statusesWithProblems = (statuses: ReadonlyArray<ObjectStatus>, problems: ReadonlyArray<SourceProblem>): ReadonlyArray<ObjectStatus> => {
  const unread = problemStatuses(problems)
  if (unread.length === 0) return statuses
  const byKey = new Map(unread.map((entry) => [statusKey(entry), entry]))
  const merged = statuses.map((entry) => {
    const problem = byKey.get(statusKey(entry))
    if (problem === undefined) return entry
    byKey.delete(statusKey(entry))
    const accepted = problem.status.conditions[0]!
    // A policy's conditions live per ancestor: each says what is wrong with the newest version.
    if ("ancestors" in entry.status) {
      const ancestors = entry.status.ancestors.map((ancestor) => ({
        ...ancestor,
        conditions: [accepted, ...ancestor.conditions.filter((c) => c.type !== "Accepted")]
      }))
      return { ...entry, status: { ancestors } } as ObjectStatus
    }
    return {
      ...entry,
      status: { ...entry.status, conditions: [accepted, ...entry.status.conditions.filter((c) => c.type !== "Accepted")] }
    } as ObjectStatus
  })
  return sortStatuses([...merged, ...byKey.values()])
}

/** Statuses for input objects that could not be read, naming the field and the fix. */
export const problemStatuses = (problems: ReadonlyArray<SourceProblem>): ReadonlyArray<ProblemStatus> => {
  const byObject = new Map<string, { kind: string; namespace?: string; name: string; messages: Array<string> }>()
  for (const problem of problems) {
    if (problem.kind === undefined || problem.name === undefined) continue
    const id = `${problem.kind}/${problem.namespace ?? ""}/${problem.name}`
    const entry = byObject.get(id) ?? {
      kind: problem.kind,
      name: problem.name,
      ...(problem.namespace === undefined ? {} : { namespace: problem.namespace }),
      messages: []
    }
    entry.messages.push(describeProblem(problem))
    byObject.set(id, entry)
  }
  return [...byObject.values()].map(({ messages, ...object }) => ({
    ...object,
    status: {
      conditions: [condition("Accepted", false, "Invalid", messages.join("; "), undefined)]
    }
  }))
}
