// The Source of Kubernetes mode. Informers keep a cache of every kind the
// translator reads; that cache is the truth and watch events only say that
// something changed. No World is built before every informer has listed
// once; bursts of events are coalesced while a pass runs; a failed
// watch is restarted with jittered backoff and keeps its cache meanwhile.
import { type KubernetesObject, makeInformer, type Informer, type ObjectCache } from "@kubernetes/client-node"
import { Effect, FiberSet, Layer, Queue, Ref, Stream } from "effect"
import { decodeObject, type InputKind, type InputObject } from "../api/objects.ts"
import { Source, type SourceProblem, type SourceUpdate } from "../world/source.ts"
import { emptyWorld } from "../world/world.ts"
import { withChanges, type WorldChange } from "../world/worldChanges.ts"
import { KubeApi } from "./kubeApi.ts"

interface Watched {
  readonly kind: InputKind
  readonly apiVersion: string
  readonly path: string
}

/** Every kind the translator reads, and nothing else. */
export const WATCHED: ReadonlyArray<Watched> = [
  { kind: "GatewayClass", apiVersion: "gateway.networking.k8s.io/v1", path: "/apis/gateway.networking.k8s.io/v1/gatewayclasses" },
  { kind: "Gateway", apiVersion: "gateway.networking.k8s.io/v1", path: "/apis/gateway.networking.k8s.io/v1/gateways" },
  { kind: "GatewayParameters", apiVersion: "gateway.kgateway.dev/v1alpha1", path: "/apis/gateway.kgateway.dev/v1alpha1/gatewayparameters" },
  { kind: "Service", apiVersion: "v1", path: "/api/v1/services" },
  { kind: "Namespace", apiVersion: "v1", path: "/api/v1/namespaces" }
]

const BACKOFF_MIN_MS = 500
const BACKOFF_MAX_MS = 30_000

type Raw = KubernetesObject & Record<string, unknown>

interface RunningInformer {
  readonly watched: Watched
  readonly informer: Informer<Raw> & ObjectCache<Raw>
  listed: boolean
}

const jittered = (ms: number) => ms / 2 + Math.random() * (ms / 2)

/** An object a watch event named: its kind, namespace and name. The cache says what it is now. */
interface Touched {
  readonly watched: Watched
  readonly namespace: string | undefined
  readonly name: string
}

const idOf = (kind: string, namespace: string | undefined, name: string) => (namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`)

/**
 * Keeps the World in step with the informer caches. The first pass reads every cache; later
 * passes look only at the objects events named, so a change costs what it touches. Decoding is
 * cached per object (informers keep unchanged objects); an object that stops decoding keeps its
 * last good version and is reported.
 */
const makeWorldBuilder = () => {
  const decoded = new WeakMap<object, ReturnType<typeof decodeObject>>()
  const current = new Map<string, InputObject>()
  const problems = new Map<string, ReadonlyArray<SourceProblem>>()
  let world = emptyWorld
  let built = false

  const refresh = (entry: RunningInformer, namespace: string | undefined, name: string): WorldChange | undefined => {
    const { watched } = entry
    const id = idOf(watched.kind, watched.kind === "GatewayClass" || watched.kind === "Namespace" ? undefined : namespace, name)
    const before = current.get(id)
    const raw = entry.informer.get(name, namespace)
    problems.delete(id)
    if (raw === undefined) {
      current.delete(id)
      return before === undefined ? undefined : { before, after: undefined }
    }
    let outcome = decoded.get(raw)
    if (outcome === undefined) {
      // List items carry no apiVersion and kind; watch events do.
      outcome = decodeObject({ ...raw, apiVersion: watched.apiVersion, kind: watched.kind })
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
          kind: watched.kind,
          ...(namespace === undefined ? {} : { namespace }),
          name,
          field: issue.field,
          message: `${issue.message}${before === undefined ? "; the object is not used until it is fixed" : "; its last good version is still used"}`
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
        for (const raw of entry.informer.list()) {
          const name = raw.metadata?.name ?? ""
          const change = refresh(entry, raw.metadata?.namespace, name)
          seen.add(
            idOf(entry.watched.kind, entry.watched.kind === "GatewayClass" || entry.watched.kind === "Namespace" ? undefined : raw.metadata?.namespace, name)
          )
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
      for (const { name, namespace, watched } of touched) {
        const entry = informers.find((i) => i.watched === watched)
        if (entry === undefined) continue
        const change = refresh(entry, namespace, name)
        if (change !== undefined) changes.push(change)
      }
    }
    world = withChanges(world, changes)
    return { world, problems: [...problems.values()].flat() }
  }
}

export const watchSource = Layer.effect(
  Source,
  Effect.gen(function* () {
    const api = yield* KubeApi
    const informersRef = yield* Ref.make<ReadonlyArray<RunningInformer>>([])
    // Objects named by events since the last pass (filled by informer callbacks, outside Effect).
    const pending: { touched: Array<Touched> } = { touched: [] }
    const ticks = Stream.callback<void>(
      (queue) =>
        Effect.gen(function* () {
          const tick = () => {
            Queue.offerUnsafe(queue, undefined)
          }
          const touchedBy = (watched: Watched) => (object: Raw) => {
            pending.touched.push({ watched, namespace: object.metadata?.namespace, name: object.metadata?.name ?? "" })
            tick()
          }
          // Informers call back outside Effect; these run effects in this stream's scope.
          const runFork = yield* FiberSet.makeRuntime()
          const runPromise = yield* FiberSet.makeRuntimePromise()
          const running: Array<RunningInformer> = WATCHED.map((watched) => {
            const entry: RunningInformer = {
              watched,
              listed: false,
              informer: makeInformer<Raw>(api.config, watched.path, async () => {
                const list = await runPromise(api.request<{ metadata?: { resourceVersion?: string }; items: Array<Raw> }>("GET", watched.path))
                entry.listed = true
                tick()
                return { metadata: list.metadata ?? {}, items: list.items }
              })
            }
            return entry
          })
          let stopped = false
          for (const entry of running) {
            let backoff = BACKOFF_MIN_MS
            entry.informer.on("add", touchedBy(entry.watched))
            entry.informer.on("update", touchedBy(entry.watched))
            entry.informer.on("delete", touchedBy(entry.watched))
            entry.informer.on("connect", () => {
              backoff = BACKOFF_MIN_MS
            })
            entry.informer.on("error", (error: unknown) => {
              if (stopped) return
              const delay = jittered(backoff)
              backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
              const status = (error as { status?: number })?.status
              const message =
                status === 404
                  ? `${entry.watched.path} is not served: install the ${entry.watched.kind} CRD (${
                      entry.watched.kind === "GatewayParameters" ? "manifests/crds" : "the Gateway API standard channel"
                    }); nothing is translated until every watched kind can be listed`
                  : error instanceof Error
                    ? error.message
                    : ((error as { message?: string })?.message ?? String(error))
              runFork(
                Effect.logWarning(
                  `watch of ${entry.watched.kind} failed (${message}); retrying in ${Math.round(delay)} ms, serving the cached objects meanwhile`
                )
              )
              setTimeout(() => {
                if (!stopped) void entry.informer.start()
              }, delay).unref()
            })
          }
          yield* Effect.acquireRelease(
            Effect.sync(() => {
              for (const entry of running) void entry.informer.start()
            }),
            () =>
              Effect.promise(async () => {
                stopped = true
                await Promise.all(running.map((entry) => entry.informer.stop()))
              })
          )
          yield* Ref.set(informersRef, running)
          tick()
        }),
      { bufferSize: 1, strategy: "sliding" }
    )

    const build = makeWorldBuilder()
    const synced = Effect.map(Ref.get(informersRef), (all) => all.length > 0 && all.every((entry) => entry.listed))

    // Ticks are conflated (a sliding buffer of one): an event is handled at once, and the events
    // that arrive while a World is being built and translated become one more pass, not many.
    const updates = ticks.pipe(
      Stream.mapEffect(() => Effect.zip(synced, Ref.get(informersRef))),
      Stream.filter(([isSynced]) => isSynced),
      Stream.map(([, informers]) => {
        const touched = pending.touched
        pending.touched = []
        return build(informers, touched)
      })
    )
    return Source.of({ updates })
  })
)
