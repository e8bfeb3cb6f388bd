// What every part of a policy's translation reads: the World, the options, the policy's
// namespace, and where findings go.
import type { World } from "../../world/world.ts"
import type { TranslateOptions } from "../options.ts"
import type { Findings } from "./findings.ts"

export interface PolicyContext {
  readonly world: World
  readonly options: TranslateOptions
  readonly namespace: string
  readonly findings: Findings
}
