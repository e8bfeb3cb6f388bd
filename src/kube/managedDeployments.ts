// An informer of the Deployments agentplane manages (selected by label, in
// every namespace): the record of which managed proxies exist, so that the
// deployer can remove those of deleted Gateways even after a restart, and the
// source of their availability for Gateway status.
import { type KubernetesObject, makeInformer } from "@kubernetes/client-node"
import { Context, Effect, FiberSet, Layer, Stream, SubscriptionRef } from "effect"
import { KubeApi } from "./kubeApi.ts"
import { LABEL_GATEWAY, MANAGED_SELECTOR, SESSION_SECRET_UID_ANNOTATION } from "./managedObjects.ts"

export interface LiveDeployment {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  /** The Gateway it belongs to (`namespace/name`), from its label. */
  readonly gateway: string
  /** Empty when the label is missing. */
  readonly gatewayName: string
  readonly sessionSecretUid: string | undefined
  readonly replicas: number
  readonly availableReplicas: number
}

interface RawDeployment extends KubernetesObject {
  readonly spec?: { readonly replicas?: number }
  readonly status?: { readonly availableReplicas?: number }
}

const BACKOFF_MIN_MS = 500
const BACKOFF_MAX_MS = 30_000

const live = (raw: RawDeployment): LiveDeployment => {
  const namespace = raw.metadata?.namespace ?? "default"
  const gatewayName = raw.metadata?.labels?.[LABEL_GATEWAY] ?? ""
  return {
    namespace,
    name: raw.metadata?.name ?? "",
    uid: raw.metadata?.uid ?? "",
    gateway: `${namespace}/${gatewayName}`,
    gatewayName,
    sessionSecretUid: raw.metadata?.annotations?.[SESSION_SECRET_UID_ANNOTATION],
    replicas: raw.spec?.replicas ?? 1,
    availableReplicas: raw.status?.availableReplicas ?? 0
  }
}

export class ManagedDeployments extends Context.Service<
  ManagedDeployments,
  {
    /** The managed Deployments, or undefined until the first list completed. */
    readonly current: Effect.Effect<ReadonlyArray<LiveDeployment> | undefined>
    /** Fires after the first list and after every change. */
    readonly changes: Stream.Stream<void>
  }
>()("agentplane/kube/ManagedDeployments") {
  static readonly layer = Layer.effect(
    ManagedDeployments,
    Effect.gen(function* () {
      const api = yield* KubeApi
      const version = yield* SubscriptionRef.make(0)
      const runFork = yield* FiberSet.makeRuntime()
      const runPromise = yield* FiberSet.makeRuntimePromise()
      const tick = () => runFork(SubscriptionRef.update(version, (n) => n + 1))
      let listed = false
      let stopped = false
      const path = "/apis/apps/v1/deployments"
      const informer = makeInformer<RawDeployment>(
        api.config,
        path,
        async () => {
          const list = await runPromise(
            api.request<{ metadata?: { resourceVersion?: string }; items: Array<RawDeployment> }>(
              "GET",
              `${path}?labelSelector=${encodeURIComponent(MANAGED_SELECTOR)}`
            )
          )
          listed = true
          tick()
          return { metadata: list.metadata ?? {}, items: list.items }
        },
        MANAGED_SELECTOR
      )
      let backoff = BACKOFF_MIN_MS
      informer.on("add", tick)
      informer.on("update", tick)
      informer.on("delete", tick)
      informer.on("connect", () => {
        backoff = BACKOFF_MIN_MS
      })
      informer.on("error", (error: unknown) => {
        if (stopped) return
        const delay = backoff / 2 + Math.random() * (backoff / 2)
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
        const message = error instanceof Error ? error.message : ((error as { message?: string })?.message ?? String(error))
        runFork(Effect.logWarning(`watch of managed Deployments failed (${message}); retrying in ${Math.round(delay)} ms`))
        setTimeout(() => {
          if (!stopped) void informer.start()
        }, delay).unref()
      })
      yield* Effect.acquireRelease(
        Effect.sync(() => void informer.start()),
        () =>
          Effect.promise(async () => {
            stopped = true
            await informer.stop()
          })
      )
      return ManagedDeployments.of({
        current: Effect.sync(() => (listed ? informer.list().map(live) : undefined)),
        changes: SubscriptionRef.changes(version).pipe(
          Stream.filter(() => listed),
          Stream.map(() => undefined)
        )
      })
    })
  )
}
