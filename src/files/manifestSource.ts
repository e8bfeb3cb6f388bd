// The Source of file mode: the manifests of directories and files named on
// the command line (watched) and of standard input (read once). A change is
// read at once; changes that arrive meanwhile are gathered and read together
// next, so a burst costs one re-read and a lone edit no wait. A file caught
// empty mid-rewrite keeps its objects and is looked at again after a grace
// period, unless its write's own event comes first. An input that is gone
// keeps what it held and makes the server not ready until it is back.
import { dirname, basename } from "node:path"
import { Effect, Layer, Queue, Ref, Stream } from "effect"
import { Readiness } from "../telemetry/readiness.ts"
import { Source, SourceError, type SourceProblem, type SourceUpdate } from "../world/source.ts"
import { missingClassProblems } from "./missingClasses.ts"
import { describeInputs, displayName, emptyContents, type ManifestContents, type ManifestInput, readManifests, REWRITE_GRACE_MS } from "./readManifests.ts"
import { type TreeWatcher, watchTree } from "./treeWatcher.ts"
import { WorldAccumulator } from "./worldAccumulator.ts"

/** Paths changed since the last read; "all" when a watcher could not say which. */
type Pending = ReadonlySet<string> | "all"

/** Changed paths gathered between reads (the watchers and grace timers call back outside Effect). */
class PendingChanges {
  private pending: Pending | undefined = undefined
  private graceOver = new Set<string>()
  note(path: string | undefined) {
    this.pending = this.pending === "all" || path === undefined ? "all" : new Set([...(this.pending ?? []), path])
  }
  /** `path` read empty a grace period ago: the next read takes it as it is. */
  noteGraceOver(path: string) {
    this.graceOver.add(path)
    this.note(path)
  }
  take(): { readonly changed: Pending; readonly graceOver: ReadonlySet<string> } | undefined {
    const changed = this.pending
    const graceOver = this.graceOver
    this.pending = undefined
    this.graceOver = new Set()
    return changed === undefined ? undefined : { changed, graceOver }
  }
}

/** Wakes the reader: a tick per change or expired grace, the paths gathered in `pending`. */
interface Ticks {
  readonly stream: Stream.Stream<void>
  /** Looks at `path` again after the grace period. */
  readonly recheckLater: (path: string) => void
}

const watchInput = (input: ManifestInput, onChange: (path: string | undefined) => void): TreeWatcher | undefined => {
  switch (input._tag) {
    case "Directory":
      return watchTree(input.path, onChange)
    case "File":
      // Its directory, not the file: editors save by writing a new file and renaming it over the old.
      return watchTree(dirname(input.path), onChange, { only: basename(input.path) })
    case "Text":
      return undefined
  }
}

const inputChanges = (inputs: ReadonlyArray<ManifestInput>, pending: PendingChanges): Ticks => {
  let tick = () => {}
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const stream = Stream.callback<void>(
    (queue) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          tick = () => {
            Queue.offerUnsafe(queue, undefined)
          }
          const note = (path: string | undefined) => {
            pending.note(path)
            tick()
          }
          return inputs.flatMap((input) => watchInput(input, note) ?? [])
        }),
        (watchers) =>
          Effect.sync(() => {
            for (const watcher of watchers) watcher.close()
            for (const timer of timers) clearTimeout(timer)
          })
      ),
    { bufferSize: 1, strategy: "sliding" }
  )
  const recheckLater = (path: string) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      pending.noteGraceOver(path)
      tick()
    }, REWRITE_GRACE_MS)
    timers.add(timer)
  }
  return { stream, recheckLater }
}

const READINESS_KEY = "manifests"

export const manifestSource = (inputs: ReadonlyArray<ManifestInput>) =>
  Layer.effect(
    Source,
    Effect.gen(function* () {
      const readiness = yield* Readiness
      const first = yield* readManifests(inputs, emptyContents)
      if (first.lost.length > 0) {
        return yield* new SourceError({
          message: `cannot read manifests from ${first.lost.map(displayName).join(", ")}: no such file or directory`
        })
      }
      const accumulator = new WorldAccumulator()
      const toUpdate = (contents: ManifestContents): SourceUpdate => {
        const { duplicates, world } = accumulator.update(contents)
        const missingClasses = missingClassProblems(world, (key) => accumulator.fileOf(`Gateway/${key}`) ?? describeInputs(inputs))
        return { world, problems: [...contents.problems, ...duplicates, ...missingClasses] as ReadonlyArray<SourceProblem> }
      }
      const latest = yield* Ref.make(first)
      const pending = new PendingChanges()
      const ticks = inputChanges(inputs, pending)
      const logIgnored = (contents: ManifestContents) =>
        contents.ignoredKinds.length === 0 ? Effect.void : Effect.logDebug(`not read by agentplane: ${contents.ignoredKinds.join(", ")}`)
      yield* logIgnored(first)
      const reread = Effect.gen(function* () {
        const taken = pending.take()
        if (taken === undefined) return undefined
        const { changed, graceOver } = taken
        const before = yield* Ref.get(latest)
        const contents = yield* readManifests(inputs, before, changed === "all" ? undefined : changed, graceOver)
        for (const path of contents.emptied) ticks.recheckLater(path)
        yield* Ref.set(latest, contents)
        yield* logIgnored(contents)
        if (contents.lost.join("\n") !== before.lost.join("\n")) {
          const lost = contents.lost.map(displayName).join(", ")
          yield* readiness.require(READINESS_KEY, contents.lost.length === 0 ? undefined : `manifests ${lost} gone; serving what was last read from them`)
          if (contents.lost.length === 0) yield* Effect.logInfo(`manifests ${describeInputs(inputs)} are readable again`)
          else yield* Effect.logError(`${lost} is gone; still serving the objects last read from it until it is back`)
        }
        return toUpdate(contents)
      })
      const later = ticks.stream.pipe(
        Stream.mapEffect(() => reread),
        Stream.filter((update): update is SourceUpdate => update !== undefined)
      )
      return Source.of({ updates: Stream.concat(Stream.make(toUpdate(first)), later) })
    })
  )
