// One informer of the watch source: a list then a watch of one path (optionally narrowed by a
// field or label selector), its cache, and a restart with jittered backoff after a failure, the
// cache kept meanwhile. Events only say that something changed; the cache says what.
import { type KubernetesObject, ListWatch, Watch } from "@kubernetes/client-node"
import { Effect } from "effect"
import type { InputKind } from "../api/objects.ts"
import type { KubeApi, KubeApiError } from "./kubeApi.ts"

export interface Watched {
  readonly kind: InputKind
  readonly apiVersion: string
  readonly path: string
  /** Narrows the watch (one Secret by name, or those with some labels). */
  readonly fieldSelector?: string
  readonly labelSelector?: string
  /** How to make a kind the API server does not serve available, for the warning that it is not. */
  readonly missing?: string
}

export type Raw = KubernetesObject & Record<string, unknown>

export interface RunningInformer {
  readonly watched: Watched
  readonly informer: ListWatch<Raw>
  /** The first list succeeded: the cache holds what the API server had. */
  listed: boolean
  /** A list or watch failed since the start (the informer is being restarted). */
  failed: boolean
  readonly startedAt: number
  /** Stops watching; no restart follows. */
  readonly stop: () => Promise<void>
}

const BACKOFF_MIN_MS = 500
const BACKOFF_MAX_MS = 30_000

const jittered = (ms: number) => ms / 2 + Math.random() * (ms / 2)

export interface InformerHooks {
  /** An event named this object (outside Effect). */
  readonly touched: (watched: Watched, object: Raw) => void
  /** Something changed: a list completed, a watch failed. */
  readonly tick: () => void
  readonly runFork: (effect: Effect.Effect<void>) => unknown
  readonly runPromise: <A>(effect: Effect.Effect<A, KubeApiError>) => Promise<A>
}

const describe = (watched: Watched) =>
  `${watched.kind}${watched.fieldSelector === undefined ? "" : ` ${watched.fieldSelector}`}${watched.labelSelector === undefined ? "" : ` with labels ${watched.labelSelector || "(any)"}`}`

const query = (watched: Watched): string => {
  const params = new URLSearchParams()
  if (watched.fieldSelector !== undefined) params.set("fieldSelector", watched.fieldSelector)
  if (watched.labelSelector !== undefined) params.set("labelSelector", watched.labelSelector)
  const text = params.toString()
  return text === "" ? "" : `?${text}`
}

/** Starts listing and watching `watched`. */
export const startInformer = (api: typeof KubeApi.Service, watched: Watched, hooks: InformerHooks): RunningInformer => {
  let stopped = false
  let backoff = BACKOFF_MIN_MS
  const informer: ListWatch<Raw> = new ListWatch<Raw>(
    watched.path,
    new Watch(api.config),
    async () => {
      const list = await hooks.runPromise(
        api.request<{ metadata?: { resourceVersion?: string }; items: Array<Raw> }>("GET", `${watched.path}${query(watched)}`)
      )
      entry.listed = true
      hooks.tick()
      return { metadata: list.metadata ?? {}, items: list.items }
    },
    false,
    watched.labelSelector,
    watched.fieldSelector
  )
  const entry: RunningInformer = {
    watched,
    informer,
    listed: false,
    failed: false,
    startedAt: Date.now(),
    stop: async () => {
      stopped = true
      await informer.stop()
    }
  }
  const touched = (object: Raw) => hooks.touched(watched, object)
  informer.on("add", touched)
  informer.on("update", touched)
  informer.on("delete", touched)
  // The informer says "connect" before it lists, so a connect is no sign of health: the backoff
  // starts over only after a quiet period without failures.
  let lastFailure = 0
  informer.on("error", (error: unknown) => {
    if (stopped) return
    entry.failed = true
    hooks.tick()
    const now = Date.now()
    if (now - lastFailure > BACKOFF_MAX_MS * 2) backoff = BACKOFF_MIN_MS
    lastFailure = now
    const delay = jittered(backoff)
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
    const status = (error as { status?: number })?.status
    const message =
      status === 404
        ? `${watched.path} is not served: install the ${watched.kind} CRD (${watched.missing ?? "see manifests/README.md"}); nothing is translated until every watched kind can be listed`
        : status === 403
          ? `agentplane may not list ${watched.path}${query(watched)}: grant its ServiceAccount get, list and watch (manifests/install/clusterrole.yaml)`
          : watched.kind === "Secret"
            ? // A failure to read a Secret list could quote the body it could not read: only its kind is told.
              `${(error as { reason?: string; name?: string })?.reason ?? (error as { name?: string })?.name ?? "error"}${status === undefined || status === 0 ? "" : ` (HTTP ${status})`}`
            : error instanceof Error
              ? error.message
              : ((error as { message?: string })?.message ?? String(error))
    hooks.runFork(
      Effect.logWarning(`watch of ${describe(watched)} failed (${message}); retrying in ${Math.round(delay)} ms, serving the cached objects meanwhile`)
    )
    setTimeout(() => {
      if (!stopped) void informer.start()
    }, delay).unref()
  })
  void informer.start()
  return entry
}
