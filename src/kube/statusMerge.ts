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

export const mergeConditions = (live: ReadonlyArray<LiveCondition> | undefined, ours: ReadonlyArray<Condition>, now: string): ReadonlyArray<LiveCondition> => {
  const existing = new Map((live ?? []).map((c) => [c.type, c]))
  const merged: Array<LiveCondition> = ours.map((condition) => {
    const before = existing.get(condition.type)
    return {
      ...condition,
      lastTransitionTime:
        before !== undefined && before.status === condition.status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now
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

/**
 * Gateway: conditions, one entry per listener of the spec (ours), and the addresses we know (none
 * is no field: only agentplane-run proxies have addresses we can tell); other fields kept.
 */
export const mergeGatewayStatus = (live: LiveStatus | undefined, ours: GatewayStatus, now: string): LiveStatus => {
  const liveListeners = new Map((live?.listeners ?? []).map((l) => [l.name, l]))
  const { addresses: _stale, ...kept } = live ?? {}
  return {
    ...kept,
    ...(ours.addresses === undefined || ours.addresses.length === 0 ? {} : { addresses: ours.addresses }),
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
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  )

/** A merge patch turning `live` into `next`: fields `next` dropped are set to null, which deletes them. */
export const replacementPatch = (live: LiveStatus | undefined, next: LiveStatus): Readonly<Record<string, unknown>> => ({
  ...Object.fromEntries(
    Object.keys(live ?? {})
      .filter((key) => !(key in next))
      .map((key) => [key, null])
  ),
  ...next
})
