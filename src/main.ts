// Composition of agentplane's layers: Source → translator → SnapshotStore →
// xDS server, with the admin endpoints beside them.
import { Deferred, Effect, Layer, Logger, Stream } from "effect"
import { AdminServer } from "./admin/server.ts"
import { Metrics } from "./admin/metrics.ts"
import { describeProblem, Source } from "./api/source.ts"
import { directorySource } from "./files/directorySource.ts"
import type { TranslateOptions } from "./translate/options.ts"
import { problemStatuses, sortStatuses } from "./translate/status.ts"
import { translate } from "./translate/translate.ts"
import { DataPlane } from "./xds/dataPlane.ts"
import { XdsServer } from "./xds/server.ts"
import { SnapshotStore } from "./xds/snapshotStore.ts"

export interface ServeOptions extends TranslateOptions {
  readonly from: string
  readonly xdsAddress: string
  readonly adminAddress: string
}

/** Translates every update of the Source and publishes the result. */
export const reconciler = (options: TranslateOptions) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const source = yield* Source
    const store = yield* SnapshotStore
    const metrics = yield* Metrics
    let reported = new Set<string>()
    const firstPublished = yield* Deferred.make<void>()
    yield* source.updates.pipe(
      Stream.runForEach((update) =>
        Effect.gen(function*() {
          const translation = translate(update.world, options)
          yield* metrics.translated
          const statuses = sortStatuses([...translation.statuses, ...problemStatuses(update.problems)])
          const changed = yield* store.publish({ ...translation, statuses }, update.problems)
          // Report each problem once, when it appears, not on every change.
          const now = new Set(update.problems.map(describeProblem))
          for (const problem of now) if (!reported.has(problem)) yield* Effect.logError(problem)
          reported = now
          if (changed) {
            yield* Effect.logInfo(
              `configuration published: ${translation.gateways.size} gateway(s), ${update.problems.length} problem(s)`
            )
          }
        }).pipe(
          Effect.catchCause((cause) => Effect.logError("translation failed; still serving the last configuration", cause)),
          Effect.ensuring(Deferred.succeed(firstPublished, undefined))
        )
      ),
      Effect.catchCause((cause) => Effect.logError("configuration source stopped", cause)),
      Effect.forkScoped
    )
    // Proxies must never be served an empty configuration before the first one is read.
    yield* Deferred.await(firstPublished)
  }))

/** JSON lines for machines, logfmt on a terminal. Both on stderr: stdout carries command output. */
export const loggerLayer = Logger.layer([
  Logger.withConsoleError(process.stderr.isTTY ? Logger.formatLogFmt : Logger.formatJson)
])

export const serveLayer = (options: ServeOptions) => {
  const core = Layer.mergeAll(SnapshotStore.layer, DataPlane.layer, Metrics.layer)
  const servers = Layer.mergeAll(XdsServer.layer(options.xdsAddress), AdminServer.layer(options.adminAddress))
  // The reconciler is built first: it returns once the first configuration is published.
  return servers.pipe(
    Layer.provide(reconciler(options).pipe(Layer.provide(directorySource(options.from)))),
    Layer.provideMerge(core)
  )
}
