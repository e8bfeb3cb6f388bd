// Durations as the CRDs write them (`5m`, `1h30m`, `300s`, `500ms`), in milliseconds.
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 }

/** Undefined when `text` is not such a duration. */
export const durationMs = (text: string): number | undefined => {
  if (!/^([0-9]{1,5}(h|ms|m|s))+$/.test(text)) return undefined
  let total = 0
  for (const [, amount, unit] of text.matchAll(/([0-9]{1,5})(h|ms|m|s)/g)) total += Number(amount) * UNIT_MS[unit!]!
  return total
}
