// The Source of Kubernetes mode. Informers keep a cache of every kind the
// translator reads; that cache is the truth and watch events only say that
// something changed. No World is built before every informer has listed
// once; bursts of events are coalesced while a pass runs; a failed
// watch is restarted with jittered backoff and keeps its cache meanwhile.
import { type KubernetesObject, makeInformer, type Informer, type ObjectCache } from "@kubernetes/client-node"
import { Effect, FiberSet, Layer, Queue, Ref, Stream } from "effect"
import { decodeObject, type InputKind, type InputObject } from "../api/objects.ts"
import { Source, type SourceProblem, type SourceUpdate } from "../api/source.ts"
import { objectId, worldFromObjects } from "../translate/world.ts"
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

/** Decodes the caches into a World. Decoding is cached per object: informers keep unchanged objects. */
const makeWorldBuilder = () => {
  const decoded = new WeakMap<object, ReturnType<typeof decodeObject>>()
  let lastGood = new Map<string, InputObject>()
  return (informers: ReadonlyArray<RunningInformer>): SourceUpdate => {
    const objects: Array<InputObject> = []
    const problems: Array<SourceProblem> = []
    const good = new Map<string, InputObject>()
    for (const { informer, watched } of informers) {
      for (const raw of informer.list()) {
        let outcome = decoded.get(raw)
        if (outcome === undefined) {
          // List items carry no apiVersion and kind; watch events do.
          outcome = decodeObject({ ...raw, apiVersion: watched.apiVersion, kind: watched.kind })
          decoded.set(raw, outcome)
        }
        if (outcome._tag === "Decoded") {
          objects.push(outcome.object)
          good.set(objectId(outcome.object), outcome.object)
        } else if (outcome._tag === "Invalid") {
          const namespace = raw.metadata?.namespace
          const id = namespace === undefined ? `${watched.kind}/${raw.metadata?.name}` : `${watched.kind}/${namespace}/${raw.metadata?.name}`
          const kept = lastGood.get(id)
          if (kept !== undefined) {
            objects.push(kept)
            good.set(id, kept)
          }
          for (const issue of outcome.issues) {
            problems.push({
              origin: "cluster",
              kind: watched.kind,
              ...(namespace === undefined ? {} : { namespace }),
              name: raw.metadata?.name ?? "(unnamed)",
              field: issue.field,
              message: `${issue.message}${kept === undefined ? "; the object is not used until it is fixed" : "; its last good version is still used"}`
            })
          }
        }
      }
    }
    lastGood = good
    return { world: worldFromObjects(objects), problems }
  }
}

export const watchSource = Layer.effect(
  Source,
  Effect.gen(function*() {
    const api = yield* KubeApi
    const informersRef = yield* Ref.make<ReadonlyArray<RunningInformer>>([])
    const ticks = Stream.callback<void>((queue) =>
      Effect.gen(function*() {
        const tick = () => {
          Queue.offerUnsafe(queue, undefined)
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
          entry.informer.on("add", tick)
          entry.informer.on("update", tick)
          entry.informer.on("delete", tick)
          entry.informer.on("connect", () => {
            backoff = BACKOFF_MIN_MS
          })
          entry.informer.on("error", (error: unknown) => {
            if (stopped) return
            const delay = jittered(backoff)
            backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
            const message = error instanceof Error ? error.message : (error as { message?: string })?.message ?? String(error)
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
      }), { bufferSize: 1, strategy: "sliding" })

    const build = makeWorldBuilder()
    const synced = Effect.map(Ref.get(informersRef), (all) => all.length > 0 && all.every((entry) => entry.listed))

    // Ticks are conflated (a sliding buffer of one): an event is handled at once, and the events
    // that arrive while a World is being built and translated become one more pass, not many.
    const updates = ticks.pipe(
      Stream.mapEffect(() => Effect.zip(synced, Ref.get(informersRef))),
      Stream.filter(([isSynced]) => isSynced),
      Stream.map(([, informers]) => build(informers))
    )
    return Source.of({ updates })
  })
)
