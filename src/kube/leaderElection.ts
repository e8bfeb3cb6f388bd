// Leader election on a coordination.k8s.io Lease. Every replica serves xDS;
// only the leader writes status. Expiry is judged by when this replica last
// saw the lease change, not by the holder's clock, so clock skew between
// nodes cannot cut a lease short.
import { Clock, Context, Effect, Layer, Schedule, Stream, SubscriptionRef } from "effect"
import { KubeApi, type KubeApiError } from "./kubeApi.ts"
import { kubeMicroTime } from "./kubeTime.ts"

export interface LeaderElectionOptions {
  readonly namespace: string
  readonly name: string
  readonly identity: string
  readonly leaseDurationSeconds: number
}

interface Lease {
  readonly metadata: { readonly resourceVersion?: string }
  readonly spec?: {
    readonly holderIdentity?: string
    readonly leaseDurationSeconds?: number
    readonly renewTime?: string
    readonly leaseTransitions?: number
  }
}

export class LeaderElection extends Context.Service<
  LeaderElection,
  {
    readonly isLeader: Effect.Effect<boolean>
    /** Current leadership, then every change. */
    readonly changes: Stream.Stream<boolean>
  }
>()("agentplane/kube/LeaderElection") {
  static readonly layer = (options: LeaderElectionOptions) =>
    Layer.effect(
      LeaderElection,
      Effect.gen(function* () {
        const api = yield* KubeApi
        const leader = yield* SubscriptionRef.make(false)
        const path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases/${options.name}`
        const duration = options.leaseDurationSeconds * 1000
        const retryEvery = Math.max(200, Math.floor(duration / 5))
        // The leader steps down when it could not renew for this long, well before others may take over.
        const renewDeadline = Math.floor((duration * 2) / 3)
        let observed: { key: string; at: number } | undefined
        let lastRenewed = 0
        let failing = 0

        const body = (now: number, lease: Lease | undefined, transitions: number) => ({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: options.name,
            namespace: options.namespace,
            ...(lease?.metadata.resourceVersion === undefined ? {} : { resourceVersion: lease.metadata.resourceVersion })
          },
          spec: {
            holderIdentity: options.identity,
            leaseDurationSeconds: options.leaseDurationSeconds,
            acquireTime: kubeMicroTime(now),
            renewTime: kubeMicroTime(now),
            leaseTransitions: transitions
          }
        })

        const setLeader = (value: boolean) =>
          Effect.gen(function* () {
            const was = yield* SubscriptionRef.get(leader)
            if (was === value) return
            yield* SubscriptionRef.set(leader, value)
            yield* value
              ? Effect.logInfo(`became the leader (lease ${options.namespace}/${options.name}); writing status`)
              : Effect.logWarning(`no longer the leader (lease ${options.namespace}/${options.name}); status is left to the new leader`)
          })

        const attempt: Effect.Effect<void, KubeApiError> = Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const lease = yield* api.request<Lease>("GET", path).pipe(
            Effect.catchIf(
              (error) => error.status === 404,
              () => Effect.succeed(undefined)
            )
          )
          if (lease === undefined) {
            yield* api.request("POST", `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases`, {
              contentType: "application/json",
              json: body(now, undefined, 0)
            })
            lastRenewed = now
            return yield* setLeader(true)
          }
          const holder = lease.spec?.holderIdentity ?? ""
          const key = `${holder}|${lease.spec?.renewTime ?? ""}`
          if (observed?.key !== key) observed = { key, at: now }
          const leaseDuration = (lease.spec?.leaseDurationSeconds ?? options.leaseDurationSeconds) * 1000
          const expired = holder === "" || now > observed.at + leaseDuration
          if (holder !== options.identity && !expired) return yield* setLeader(false)
          const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === options.identity ? 0 : 1)
          const renewed = body(now, lease, transitions)
          if (holder === options.identity) {
            // Keep the original acquireTime when renewing.
            Object.assign(renewed.spec, { acquireTime: (lease.spec as { acquireTime?: string } | undefined)?.acquireTime ?? renewed.spec.acquireTime })
          }
          yield* api.request("PUT", path, { contentType: "application/json", json: renewed })
          lastRenewed = now
          yield* setLeader(true)
        })

        const loop = attempt.pipe(
          Effect.tap(() =>
            Effect.gen(function* () {
              if (failing > 0) yield* Effect.logInfo(`leader election: the Lease is reachable again after ${failing} failed attempt(s)`)
              failing = 0
            })
          ),
          Effect.catch((error) =>
            Effect.gen(function* () {
              const now = yield* Clock.currentTimeMillis
              // A conflict means another replica wrote first: just look again next round. Other
              // failures are reported once per streak, not every round while the API is away.
              if (error.status !== 409 && failing === 0) {
                yield* Effect.logWarning(`leader election: cannot reach the Lease (${error.message}); retrying every ${retryEvery} ms`)
              }
              if (error.status !== 409) failing += 1
              if ((yield* SubscriptionRef.get(leader)) && now - lastRenewed > renewDeadline) yield* setLeader(false)
            })
          ),
          Effect.repeat(Schedule.spaced(retryEvery))
        )
        yield* Effect.forkScoped(loop)

        // On shutdown, hand the lease over at once instead of making others wait for it to expire.
        yield* Effect.addFinalizer(() =>
          Effect.gen(function* () {
            if (!(yield* SubscriptionRef.get(leader))) return
            const lease = yield* api.request<Lease>("GET", path)
            if (lease.spec?.holderIdentity !== options.identity) return
            yield* api.request("PUT", path, {
              contentType: "application/json",
              json: { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } }
            })
          }).pipe(Effect.ignore)
        )
        return LeaderElection.of({ isLeader: SubscriptionRef.get(leader), changes: SubscriptionRef.changes(leader) })
      })
    )

  /** File mode and tests: always the leader. */
  static readonly alwaysLeader = Layer.succeed(LeaderElection, LeaderElection.of({ isLeader: Effect.succeed(true), changes: Stream.make(true) }))
}
