// The Source of file mode: a directory of YAML manifests, watched for changes.
import { watch } from "node:fs"
import { Effect, Layer, Queue, Ref, Stream } from "effect"
import { Source, type SourceProblem, type SourceUpdate } from "../api/source.ts"
import { worldFromObjects } from "../translate/world.ts"
import { emptyContents, objectsOf, readDirectory, type DirectoryContents } from "./readDirectory.ts"

/** Editors save in several steps; wait for the burst to settle before re-reading. */
const SETTLE = "75 millis"

const toUpdate = (contents: DirectoryContents): SourceUpdate => {
  const { objects, problems } = objectsOf(contents)
  return { world: worldFromObjects(objects), problems: [...contents.problems, ...problems] as ReadonlyArray<SourceProblem> }
}

/** A tick for every change below `dir`. */
const directoryChanges = (dir: string): Stream.Stream<void> =>
  Stream.callback<void>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() =>
        watch(dir, { recursive: true }, () => {
          Queue.offerUnsafe(queue, undefined)
        }).on("error", () => Queue.offerUnsafe(queue, undefined))
      ),
      (watcher) => Effect.sync(() => watcher.close())
    ), { bufferSize: 1, strategy: "sliding" })

export const directorySource = (dir: string) =>
  Layer.effect(
    Source,
    Effect.gen(function*() {
      const first = yield* readDirectory(dir, emptyContents)
      const latest = yield* Ref.make(first)
      const logIgnored = (contents: DirectoryContents) =>
        contents.ignoredKinds.length === 0
          ? Effect.void
          : Effect.logDebug(`not read by agentplane: ${contents.ignoredKinds.join(", ")}`)
      yield* logIgnored(first)
      const reread = Effect.gen(function*() {
        const contents = yield* readDirectory(dir, yield* Ref.get(latest))
        yield* Ref.set(latest, contents)
        yield* logIgnored(contents)
        return toUpdate(contents)
      }).pipe(
        // A directory that vanished for a moment (a ConfigMap swap) must not stop serving.
        Effect.catch((error) =>
          Effect.logError(`${error.message}; still serving the last configuration read`).pipe(Effect.as(undefined))
        )
      )
      const later = directoryChanges(dir).pipe(
        Stream.debounce(SETTLE),
        Stream.mapEffect(() => reread),
        Stream.filter((update): update is SourceUpdate => update !== undefined)
      )
      return Source.of({ updates: Stream.concat(Stream.make(toUpdate(first)), later) })
    })
  )
