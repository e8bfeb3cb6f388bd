// Merging our conditions into an object's live status: conditions of other
// controllers are kept, lastTransitionTime moves only when a condition's
// status changes, and nothing is written when nothing changed.
import type { Condition } from "../translate/conditions.ts"
import type { GatewayStatus, ListenerStatus } from "../translate/status.ts"

export interface LiveCondition extends Condition {
  readonly lastTransitionTime?: string
}

export interface LiveStatus {
  readonly conditions?: ReadonlyArray<LiveCondition>
  readonly listeners?: ReadonlyArray<ListenerStatus & { readonly conditions: ReadonlyArray<LiveCondition> }>
  readonly [field: string]: unknown
}

export const mergeConditions = (
  live: ReadonlyArray<LiveCondition> | undefined,
  ours: ReadonlyArray<Condition>,
  now: string
): ReadonlyArray<LiveCondition> => {
  const existing = new Map((live ?? []).map((c) => [c.type, c]))
  const merged: Array<LiveCondition> = ours.map((condition) => {
    const before = existing.get(condition.type)
    return {
      ...condition,
      lastTransitionTime: before !== undefined && before.status === condition.status && before.lastTransitionTime !== undefined
        ? before.lastTransitionTime
        : now
    }
  })
  const ownTypes = new Set(ours.map((c) => c.type))
  return [...merged, ...(live ?? []).filter((c) => !ownTypes.has(c.type))]
}

/** GatewayClass: conditions only. */
export const mergeClassStatus = (live: LiveStatus | undefined, ours: { readonly conditions: ReadonlyArray<Condition> }, now: string): LiveStatus => ({
  ...live,
  conditions: mergeConditions(live?.conditions, ours.conditions, now)
})

/** Gateway: conditions, and one entry per listener of the spec (ours), other fields kept. */
export const mergeGatewayStatus = (live: LiveStatus | undefined, ours: GatewayStatus, now: string): LiveStatus => {
  const liveListeners = new Map((live?.listeners ?? []).map((l) => [l.name, l]))
  return {
    ...live,
    conditions: mergeConditions(live?.conditions, ours.conditions, now),
    listeners: ours.listeners.map((listener) => ({
      ...listener,
      conditions: mergeConditions(liveListeners.get(listener.name)?.conditions, listener.conditions, now)
    }))
  }
}

/** Canonical JSON for "did anything change?" comparisons. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
      : v)
