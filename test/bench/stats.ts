// Small statistics for noisy machines: every figure is reported as
// min / median / max over repeated runs.
export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
}

export const quantile = (values: ReadonlyArray<number>, q: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const spread = (values: ReadonlyArray<number>): Spread => ({
  min: Math.min(...values),
  median: quantile(values, 0.5),
  max: Math.max(...values)
})

export const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–")

export const fmtSpread = (s: Spread, digits = 1) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
