// The Source of Kubernetes mode. Informers keep a cache of every kind the
// translator reads; that cache is the truth and watch events only say that
// something changed. No World is built before every informer has listed
// once; bursts of events are coalesced while a pass runs; a failed
// watch is restarted with jittered backoff and keeps its cache meanwhile.
// Secrets are watched narrowly: only those the World's policies reference,
// each by its own watch, started and stopped as the policies change.
import { Effect, FiberSet, Layer, Queue, Stream } from "effect"
import { decodeObject, type InputKind, type InputObject } from "../api/objects.ts"
import { Source, type SourceProblem, type SourceUpdate } from "../world/source.ts"
import { emptyWorld, type World } from "../world/world.ts"
import { withChanges, type WorldChange } from "../world/worldChanges.ts"
import { type InformerHooks, type Raw, type RunningInformer, startInformer, type Watched } from "./informer.ts"
import { KubeApi } from "./kubeApi.ts"
import { type SecretWatch, secretWatchesOf } from "./secretWatches.ts"

export type { Watched } from "./informer.ts"

/** Every kind the translator reads, and nothing else; Secrets only as policies reference them. */
export const WATCHED: ReadonlyArray<Watched> = [
  {
    kind: "GatewayClass",
    apiVersion: "gateway.networking.k8s.io/v1",
    path: "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    missing: "the Gateway API standard channel"
  },
  {
    kind: "Gateway",
    apiVersion: "gateway.networking.k8s.io/v1",
    path: "/apis/gateway.networking.k8s.io/v1/gateways",
    missing: "the Gateway API standard channel"
  },
  {
    kind: "GatewayParameters",
    apiVersion: "gateway.kgateway.dev/v1alpha1",
    path: "/apis/gateway.kgateway.dev/v1alpha1/gatewayparameters",
    missing: "manifests/crds"
  },
  {
    kind: "AgentgatewayPolicy",
    apiVersion: "agentgateway.dev/v1alpha1",
    path: "/apis/agentgateway.dev/v1alpha1/agentgatewaypolicies",
    missing: "manifests/crds, or agentgateway's own CRDs"
  },
  { kind: "Service", apiVersion: "v1", path: "/api/v1/services" },
  { kind: "Namespace", apiVersion: "v1", path: "/api/v1/namespaces" }
]

/** The watch of the Secrets one policy reference names: in the reference's namespace, narrowed by a selector. */
export const secretWatched = (watch: SecretWatch): Watched => ({
  kind: "Secret",
  apiVersion: "v1",
  path: `/api/v1/namespaces/${watch.namespace}/secrets`,
  ...(watch.fieldSelector === undefined ? {} : { fieldSelector: watch.fieldSelector }),
  ...(watch.labelSelector === undefined ? {} : { labelSelector: watch.labelSelector })
})

/**
 * How long a new Secret watch may take to list before the World is published without it: long
 * enough that a policy and its Secret normally arrive together, short enough that an API server
 * which never answers does not stop every other change.
 */
const SECRET_SETTLE_MS = 5_000

const clusterScoped = (kind: InputKind) => kind === "GatewayClass" || kind === "Namespace"

/** An object a watch event named: its kind, namespace and name. The caches say what it is now. */
interface Touched {
  readonly kind: InputKind
  readonly namespace: string | undefined
  readonly name: string
}

const idOf = (kind: InputKind, namespace: string | undefined, name: string) => (clusterScoped(kind) ? `${kind}/${name}` : `${kind}/${namespace}/${name}`)

/** The field paths of a Secret's issues stay; the messages never echo its values. */
const SECRET_ISSUE = "does not decode as a Secret (its values are never shown)"

/**
 * Keeps the World in step with the informer caches. The first pass reads every cache; later
 * passes look only at the objects events named, so a change costs what it touches. Decoding is
 * cached per object (informers keep unchanged objects); an object that stops decoding keeps its
 * last good version and is reported. A kind may have several informers (Secrets: one per
 * reference); an object is there while any of them holds it.
 */
const makeWorldBuilder = () => {
  const decoded = new WeakMap<object, ReturnType<typeof decodeObject>>()
  const current = new Map<string, InputObject>()
  const problems = new Map<string, ReadonlyArray<SourceProblem>>()
  let world = emptyWorld
  let built = false

  const refresh = (informers: ReadonlyArray<RunningInformer>, kind: InputKind, namespace: string | undefined, name: string): WorldChange | undefined => {
    const id = idOf(kind, namespace, name)
    const before = current.get(id)
    let raw: Raw | undefined
    let watched: Watched | undefined
    for (const entry of informers) {
      if (entry.watched.kind !== kind) continue
      raw = entry.informer.get(name, clusterScoped(kind) ? undefined : namespace)
      watched = entry.watched
      if (raw !== undefined) break
    }
    problems.delete(id)
    if (raw === undefined || watched === undefined) {
      current.delete(id)
      return before === undefined ? undefined : { before, after: undefined }
    }
    let outcome = decoded.get(raw)
    if (outcome === undefined) {
      // List items carry no apiVersion and kind; watch events do.
      outcome = decodeObject({ ...raw, apiVersion: watched.apiVersion, kind })
      decoded.set(raw, outcome)
    }
    if (outcome._tag === "Decoded") {
      current.set(id, outcome.object)
      return { before, after: outcome.object }
    }
    if (outcome._tag === "Invalid") {
      problems.set(
        id,
        outcome.issues.map((issue) => ({
          origin: "cluster",
          kind,
          ...(namespace === undefined ? {} : { namespace }),
          name,
          field: issue.field,
          message: `${kind === "Secret" ? SECRET_ISSUE : issue.message}${
            before === undefined ? "; the object is not used until it is fixed" : "; its last good version is still used"
          }`
        }))
      )
    }
    return undefined
  }

  return (informers: ReadonlyArray<RunningInformer>, touched: ReadonlyArray<Touched> | "all"): SourceUpdate => {
    const changes: Array<WorldChange> = []
    if (!built || touched === "all") {
      built = true
      const seen = new Set<string>()
      for (const entry of informers) {
        const { kind } = entry.watched
        for (const raw of entry.informer.list()) {
          const name = raw.metadata?.name ?? ""
          const id = idOf(kind, raw.metadata?.namespace, name)
          if (seen.has(id)) continue
          seen.add(id)
          const change = refresh(informers, kind, raw.metadata?.namespace, name)
          if (change !== undefined) changes.push(change)
        }
      }
      for (const [id, object] of current) {
        if (!seen.has(id)) {
          current.delete(id)
          changes.push({ before: object, after: undefined })
        }
      }
    } else {
      const done = new Set<string>()
      for (const { kind, namespace, name } of touched) {
        const id = idOf(kind, namespace, name)
        if (done.has(id)) continue
        done.add(id)
        const change = refresh(informers, kind, namespace, name)
        if (change !== undefined) changes.push(change)
      }
    }
    world = withChanges(world, changes)
    return { world, problems: [...problems.values()].flat() }
  }
}

/** The Secret watches a World needs, recomputed only when its policies changed. */
const makeSecretWatchPlanner = () => {
  let policies: unknown
  let planned: ReadonlyArray<SecretWatch> = []
  return (world: World): ReadonlyArray<SecretWatch> => {
    if (world.agentgatewayPolicies !== policies) {
      policies = world.agentgatewayPolicies
      planned = secretWatchesOf(world)
    }
    return planned
  }
}

export const watchSource = Layer.effect(
  Source,
  Effect.gen(function* () {
    const api = yield* KubeApi
    /** The running informers: one per watched kind, then one per Secret watch. Set once the stream starts. */
    const state: {
      fixed: ReadonlyArray<RunningInformer>
      secrets: Map<string, RunningInformer>
      hooks: InformerHooks | undefined
      /** Objects named by events since the last pass (filled by informer callbacks, outside Effect). */
      touched: Array<Touched>
    } = { fixed: [], secrets: new Map(), hooks: undefined, touched: [] }
    const all = () => [...state.fixed, ...state.secrets.values()]

    const ticks = Stream.callback<void>(
      (queue) =>
        Effect.gen(function* () {
          const tick = () => {
            Queue.offerUnsafe(queue, undefined)
          }
          // Informers call back outside Effect; these run effects in this stream's scope.
          const runFork = yield* FiberSet.makeRuntime()
          const runPromise = yield* FiberSet.makeRuntimePromise()
          const hooks: InformerHooks = {
            touched: (watched, object) => {
              state.touched.push({ kind: watched.kind, namespace: object.metadata?.namespace, name: object.metadata?.name ?? "" })
              tick()
            },
            tick,
            runFork,
            runPromise
          }
          yield* Effect.acquireRelease(
            Effect.sync(() => {
              state.hooks = hooks
              state.fixed = WATCHED.map((watched) => startInformer(api, watched, hooks))
            }),
            () =>
              Effect.promise(async () => {
                const running = all()
                state.hooks = undefined
                state.secrets.clear()
                await Promise.all(running.map((entry) => entry.stop()))
              })
          )
          tick()
        }),
      { bufferSize: 1, strategy: "sliding" }
    )

    /**
     * Starts the Secret watches `planned` adds and stops those it drops. The objects of a stopped
     * watch are marked touched, so the next pass removes those no other watch holds.
     */
    const reconcileSecretWatches = (planned: ReadonlyArray<SecretWatch>) => {
      const hooks = state.hooks
      if (hooks === undefined) return
      const wanted = new Set(planned.map((watch) => watch.id))
      for (const [id, entry] of state.secrets) {
        if (wanted.has(id)) continue
        state.secrets.delete(id)
        void entry.stop()
        for (const raw of entry.informer.list()) state.touched.push({ kind: "Secret", namespace: raw.metadata?.namespace, name: raw.metadata?.name ?? "" })
        hooks.tick()
      }
      for (const watch of planned) {
        if (state.secrets.has(watch.id)) continue
        state.secrets.set(watch.id, startInformer(api, secretWatched(watch), hooks))
        // Publishing waits for the new watch's first list, at most this long.
        setTimeout(hooks.tick, SECRET_SETTLE_MS + 10).unref()
      }
    }

    /** A Secret watch has listed, has failed (and is retrying), or was given its time. */
    const settled = (entry: RunningInformer, now: number) => entry.listed || entry.failed || now - entry.startedAt >= SECRET_SETTLE_MS

    const build = makeWorldBuilder()
    const plan = makeSecretWatchPlanner()

    // Ticks are conflated (a sliding buffer of one): an event is handled at once, and the events
    // that arrive while a World is being built and translated become one more pass, not many.
    // A World is published only once every kind has listed and every Secret watch it needs has
    // settled; a withheld World is not lost, the next pass publishes the newest one.
    const updates = ticks.pipe(
      Stream.filter(() => state.fixed.length > 0 && state.fixed.every((entry) => entry.listed)),
      Stream.map(() => {
        const touched = state.touched
        state.touched = []
        const update = build(all(), touched)
        reconcileSecretWatches(plan(update.world))
        const now = Date.now()
        return [...state.secrets.values()].every((entry) => settled(entry, now)) ? update : undefined
      }),
      Stream.filter((update): update is SourceUpdate => update !== undefined)
    )
    return Source.of({ updates })
  })
)
