// The Source of file mode: a directory of YAML manifests, watched for changes.
// A change is read at once; changes that arrive meanwhile are gathered and
// read together next, so a burst costs one re-read and a lone edit no wait.
import { watch } from "node:fs"
import { join } from "node:path"
import { Effect, Layer, Queue, Ref, Stream } from "effect"
import { Source, type SourceProblem, type SourceUpdate } from "../api/source.ts"
import { emptyContents, readDirectory, type DirectoryContents } from "./readDirectory.ts"
import { WorldAccumulator } from "./worldAccumulator.ts"


/** Paths changed since the last read; "all" when the watcher could not say which. */
type Pending = ReadonlySet<string> | "all"

/** Changed paths gathered between reads (the watcher calls back outside Effect). */
class PendingChanges {
  private pending: Pending | undefined = undefined
  note(path: string | undefined) {
    this.pending = this.pending === "all" || path === undefined ? "all" : new Set([...(this.pending ?? []), path])
  }
  take(): Pending | undefined {
    const taken = this.pending
    this.pending = undefined
    return taken
  }
}

/** A tick per change below `dir`, the changed paths gathered in `pending`. */
const directoryChanges = (dir: string, pending: PendingChanges): Stream.Stream<void> =>
  Stream.callback<void>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const note = (path: string | undefined) => {
          pending.note(path)
          Queue.offerUnsafe(queue, undefined)
        }
        return watch(dir, { recursive: true }, (_event, filename) => note(filename === null ? undefined : join(dir, filename)))
          .on("error", () => note(undefined))
      }),
      (watcher) => Effect.sync(() => watcher.close())
    ), { bufferSize: 1, strategy: "sliding" })

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
      const logIgnored = (contents: DirectoryContents) =>
        contents.ignoredKinds.length === 0
          ? Effect.void
          : Effect.logDebug(`not read by agentplane: ${contents.ignoredKinds.join(", ")}`)
      yield* logIgnored(first)
      const reread = Effect.gen(function*() {
        const changed = pending.take()
        if (changed === undefined) return undefined
        const contents = yield* readDirectory(dir, yield* Ref.get(latest), changed === "all" ? undefined : changed)
        yield* Ref.set(latest, contents)
        yield* logIgnored(contents)
        return toUpdate(contents)
      }).pipe(
        // A directory that vanished for a moment (a ConfigMap swap) must not stop serving.
        Effect.catch((error) =>
          Effect.logError(`${error.message}; still serving the last configuration read`).pipe(Effect.as(undefined))
        )
      )
      const later = directoryChanges(dir, pending).pipe(
        Stream.mapEffect(() => reread),
        Stream.filter((update): update is SourceUpdate => update !== undefined)
      )
      return Source.of({ updates: Stream.concat(Stream.make(toUpdate(first)), later) })
    })
  )
