// The one composition root of agentplane's layers: Source → translator →
// SnapshotStore → xDS server, with the admin endpoints beside them; in a
// cluster also the status writer, the deployer of managed proxies and xDS
// authentication, from the parts `kube/clusterParts.ts` offers.
import { Deferred, Effect, Layer, Stream } from "effect"
import { AdminServer } from "./admin/server.ts"
import { JwksFetcher } from "./jwks/jwksFetcher.ts"
import { JwksKeys } from "./jwks/jwksKeys.ts"
import { withJwksKeySets } from "./jwks/jwksSource.ts"
import { Metrics } from "./telemetry/metrics.ts"
import { Readiness } from "./telemetry/readiness.ts"
import { describeProblem, Source } from "./world/source.ts"
import { manifestSource } from "./files/manifestSource.ts"
import type { ManifestInput } from "./files/readManifests.ts"
import type { TranslateOptions } from "./translate/options.ts"
import { remoteJwksRequests } from "./translate/policies/remoteJwks.ts"
import { statusesWithProblems } from "./translate/status.ts"
import { makeTranslator } from "./translate/translate.ts"
import { XdsAuthenticator } from "./xds/auth.ts"
import { DataPlane } from "./xds/dataPlane.ts"
import { XdsServer } from "./xds/server.ts"
import { SnapshotStore } from "./xds/snapshotStore.ts"
import type { StreamLimits } from "./xds/limits.ts"
import type { XdsTls } from "./xds/tls.ts"
import type { ClusterOptions } from "./kube/clusterParts.ts"

export interface ServeOptions extends TranslateOptions {
  readonly xdsAddress: string
  /** Serve xDS over TLS with this certificate and key (plaintext HTTP/2 without). */
  readonly xdsTls?: XdsTls
  readonly adminAddress: string
  /** HOST:PORT of the debug endpoints (config_dump); none: not served. */
  readonly debugAddress?: string
  /** When false, nothing is programmed and no status is written (the integration is switched off). */
  readonly agentgateway?: boolean
  /** How xDS streams are timed (defaults in `xds/limits.ts`); tests shorten them. */
  readonly xdsStreamLimits?: Partial<StreamLimits>
  /** Refresh remote JWKS at least this often (milliseconds), whatever the policies' cacheDuration. */
  readonly jwksMaxRefreshMs?: number
}

export interface FileServeOptions extends ServeOptions {
  /** Directories and files (watched) and standard input's text (read once). */
  readonly inputs: ReadonlyArray<ManifestInput>
}

/** Translates every update of the Source and publishes the result. */
export const reconciler = (options: ServeOptions) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const source = yield* Source
      const store = yield* SnapshotStore
      const metrics = yield* Metrics
      const translator = makeTranslator()
      let reported = new Set<string>()
      const firstPublished = yield* Deferred.make<void>()
      yield* source.updates.pipe(
        Stream.runForEach((update) =>
          Effect.gen(function* () {
            const translation = options.agentgateway === false ? { gateways: new Map(), statuses: [] } : translator(update.world, options)
            yield* metrics.translated
            const statuses = statusesWithProblems(translation.statuses, update.problems)
            const changed = yield* store.publish({ ...translation, statuses }, update.problems, update.world)
            // Report each problem once, when it appears, not on every change.
            const now = new Set(update.problems.map(describeProblem))
            for (const problem of now) if (!reported.has(problem)) yield* Effect.logError(problem)
            reported = now
            if (changed) {
              yield* Effect.logInfo(`configuration published: ${translation.gateways.size} gateway(s), ${update.problems.length} problem(s)`)
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
    })
  )

/**
 * The Source with the remote JWKS its policies need in every World, from `keys` (the fetcher in
 * file mode, the ConfigMap store in a cluster). Nothing is fetched while nothing is programmed.
 */
const withRemoteJwks = <E, R, EK, RK>(options: ServeOptions, source: Layer.Layer<Source, E, R>, keys: Layer.Layer<JwksKeys, EK, RK>) =>
  withJwksKeySets((world) => (options.agentgateway === false ? [] : remoteJwksRequests(world, options))).pipe(
    Layer.provide(Layer.merge(source, keys)),
    Layer.provide(JwksFetcher.layer(options.jwksMaxRefreshMs === undefined ? {} : { maxRefreshMs: options.jwksMaxRefreshMs }))
  )

const core = Layer.mergeAll(SnapshotStore.layer, DataPlane.layer, Metrics.layer, Readiness.layer)

/**
 * Admin endpoints start first (liveness answers while the first configuration is read); the xDS
 * server starts only once `background` has published it, so no proxy is ever served an empty one.
 */
export const compose = <E, R, EA, RA>(options: ServeOptions, background: Layer.Layer<never, E, R>, authenticator: Layer.Layer<XdsAuthenticator, EA, RA>) =>
  XdsServer.layer(options.xdsAddress, options.xdsTls, options.xdsStreamLimits).pipe(
    Layer.provide(Layer.merge(background, authenticator)),
    Layer.provideMerge(AdminServer.layer({ address: options.adminAddress, debugAddress: options.debugAddress })),
    Layer.provideMerge(core)
  )

/** File mode: manifests from files and directories, watched; xDS is open (on loopback by default). */
export const serveLayer = (options: FileServeOptions) =>
  compose(
    options,
    reconciler(options).pipe(Layer.provide(withRemoteJwks(options, manifestSource(options.inputs), JwksKeys.fromFetcher))),
    XdsAuthenticator.open
  )

export interface KubeServeOptions extends ServeOptions, ClusterOptions {}

/**
 * Kubernetes mode: informers in; status, Events and managed proxies out, written by the leader
 * only; every xDS stream authenticated with a TokenReview. The Kubernetes client is large: it is
 * loaded only when this layer is built.
 */
export const kubeServeLayer = (options: KubeServeOptions) =>
  Layer.unwrap(
    Effect.promise(() => import("./kube/clusterParts.ts")).pipe(
      Effect.map(({ clusterParts }) => {
        const parts = clusterParts(options)
        const background = Layer.mergeAll(reconciler(options).pipe(Layer.provide(withRemoteJwks(options, parts.source, parts.jwksKeys))), parts.writers)
        return compose(options, background, parts.authenticator).pipe(Layer.provide(parts.api))
      })
    )
  )
