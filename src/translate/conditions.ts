// Gateway API conditions as plain data. lastTransitionTime is left to the
// writer that persists them: the translator has no clock.
import { capMessage } from "./conditionMessages.ts"

export interface Condition {
  readonly type: string
  readonly status: "True" | "False" | "Unknown"
  readonly reason: string
  readonly message: string
  readonly observedGeneration?: number
}

/** Messages are capped, so that no condition is ever too long for Kubernetes to store. */
export const condition = (type: string, ok: boolean, reason: string, message: string, generation: number | undefined): Condition => ({
  type,
  status: ok ? "True" : "False",
  reason,
  message: capMessage(message),
  ...(generation === undefined ? {} : { observedGeneration: generation })
})
