// A Source delivers the World: from a directory of YAML files or, in a
// cluster, from the Kubernetes API. Both report unreadable input the same way.
import { Context, Schema, type Stream } from "effect"
import type { World } from "./world.ts"

/** Input that could not be used, with everything needed to find and fix it. */
export interface SourceProblem {
  /** Where the object came from: a file path, or `cluster`. */
  readonly origin: string
  /** 0-based index of the YAML document inside the file. */
  readonly document?: number
  readonly kind?: string
  readonly namespace?: string
  readonly name?: string
  readonly field?: string
  readonly message: string
}

export const describeProblem = (problem: SourceProblem): string => {
  const where = problem.document === undefined ? problem.origin : `${problem.origin} (document ${problem.document + 1})`
  const what =
    problem.kind === undefined ? "" : ` ${problem.kind} ${problem.namespace === undefined ? "" : `${problem.namespace}/`}${problem.name ?? "(unnamed)"}`
  const field = problem.field === undefined ? "" : ` ${problem.field}`
  return `${where}:${what}${field} ${problem.message}`
}

export interface SourceUpdate {
  readonly world: World
  readonly problems: ReadonlyArray<SourceProblem>
}

export class SourceError extends Schema.TaggedError<SourceError>()("SourceError", {
  message: Schema.String
}) {}

export class Source extends Context.Service<
  Source,
  {
    /** The current World first, then a new one after every change. */
    readonly updates: Stream.Stream<SourceUpdate, SourceError>
  }
>()("agentplane/api/Source") {}
