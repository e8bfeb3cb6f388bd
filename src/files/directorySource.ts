// The Source of file mode: a directory of YAML manifests, watched for changes.
// A change is read at once; changes that arrive meanwhile are gathered and
// read together next, so a burst costs one re-read and a lone edit no wait.
// A file caught empty mid-rewrite keeps its objects and is looked at again
// after a grace period, unless its write's own event comes first.
import { Effect, Layer, Queue, Ref, Stream } from "effect"
import { Source, type SourceProblem, type SourceUpdate } from "../api/source.ts"
import { emptyContents, readDirectory, REWRITE_GRACE_MS, type DirectoryContents } from "./readDirectory.ts"
import { watchTree } from "./treeWatcher.ts"
import { WorldAccumulator } from "./worldAccumulator.ts"


/** Paths changed since the last read; "all" when the watcher could not say which. */
type Pending = ReadonlySet<string> | "all"

/** Changed paths gathered between reads (the watcher and grace timers call back outside Effect). */
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

/** Wakes the reader: a tick per change below `dir` or expired grace, the paths gathered in `pending`. */
interface Ticks {
  readonly stream: Stream.Stream<void>
  /** Looks at `path` again after the grace period. */
  readonly recheckLater: (path: string) => void
}

const directoryChanges = (dir: string, pending: PendingChanges): Ticks => {
  let tick = () => {}
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const stream = Stream.callback<void>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        tick = () => {
          Queue.offerUnsafe(queue, undefined)
        }
        const note = (path: string | undefined) => {
          pending.note(path)
          tick()
        }
        return watchTree(dir, note)
      }),
      (watcher) =>
        Effect.sync(() => {
          watcher.close()
          for (const timer of timers) clearTimeout(timer)
        })
    ), { bufferSize: 1, strategy: "sliding" })
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

export const directorySource = (dir: string) =>
  Layer.effect(
    Source,
    Effect.gen(function*() {
      const first = yield* readDirectory(dir, emptyContents)
      const accumulator = new WorldAccumulator()
      const toUpdate = (contents: DirectoryContents): SourceUpdate => {
        const { duplicates, world } = accumulator.update(contents)
        return { world, problems: [...contents.problems, ...duplicates] as ReadonlyArray<SourceProblem> }
      }
      const latest = yield* Ref.make(first)
      const pending = new PendingChanges()
      const ticks = directoryChanges(dir, pending)
      const logIgnored = (contents: DirectoryContents) =>
        contents.ignoredKinds.length === 0
          ? Effect.void
          : Effect.logDebug(`not read by agentplane: ${contents.ignoredKinds.join(", ")}`)
      yield* logIgnored(first)
      const reread = Effect.gen(function*() {
        const taken = pending.take()
        if (taken === undefined) return undefined
        const { changed, graceOver } = taken
        const contents = yield* readDirectory(dir, yield* Ref.get(latest), changed === "all" ? undefined : changed, graceOver)
        for (const path of contents.emptied) ticks.recheckLater(path)
        yield* Ref.set(latest, contents)
        yield* logIgnored(contents)
        return toUpdate(contents)
      }).pipe(
        // A directory that vanished for a moment (a ConfigMap swap) must not stop serving.
        Effect.catch((error) =>
          Effect.logError(`${error.message}; still serving the last configuration read`).pipe(Effect.as(undefined))
        )
      )
      const later = ticks.stream.pipe(
        Stream.mapEffect(() => reread),
        Stream.filter((update): update is SourceUpdate => update !== undefined)
      )
      return Source.of({ updates: Stream.concat(Stream.make(toUpdate(first)), later) })
    })
  )
