// Kubernetes Events (events.k8s.io/v1) for what users should notice on an
// object: input that could not be read, resources a proxy refused. Each
// distinct note is recorded once per object, not on every reconcile.
import { Clock, Context, Effect, Layer } from "effect"
import { KubeApi } from "./kubeApi.ts"
import { kubeMicroTime } from "./kubeTime.ts"

export interface EventTarget {
  readonly apiVersion: string
  readonly kind: string
  readonly namespace?: string
  readonly name: string
}

export const REPORTING_CONTROLLER = "agentplane.dev/controller"
const MAX_NOTE = 1024

export class EventRecorder extends Context.Service<
  EventRecorder,
  {
    readonly warn: (target: EventTarget, reason: string, action: string, note: string) => Effect.Effect<void>
  }
>()("agentplane/kube/EventRecorder") {
  static readonly layer = (identity: string) =>
    Layer.effect(
      EventRecorder,
      Effect.gen(function* () {
        const api = yield* KubeApi
        const recorded = new Set<string>()
        const warn = Effect.fn("EventRecorder.warn")(function* (target: EventTarget, reason: string, action: string, note: string) {
          const key = `${target.kind}/${target.namespace ?? ""}/${target.name}|${reason}|${note}`
          if (recorded.has(key)) return
          const now = yield* Clock.currentTimeMillis
          const namespace = target.namespace ?? "default"
          yield* api
            .request("POST", `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
              contentType: "application/json",
              json: {
                apiVersion: "events.k8s.io/v1",
                kind: "Event",
                // name.<time in hex>, as kubectl names Events: unique enough, and sorted by time.
                metadata: { name: `${target.name}.${now.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`, namespace },
                eventTime: kubeMicroTime(now),
                reportingController: REPORTING_CONTROLLER,
                reportingInstance: identity,
                action,
                reason,
                type: "Warning",
                note: note.length > MAX_NOTE ? `${note.slice(0, MAX_NOTE - 1)}…` : note,
                regarding: {
                  apiVersion: target.apiVersion,
                  kind: target.kind,
                  name: target.name,
                  ...(target.namespace === undefined ? {} : { namespace: target.namespace })
                }
              }
            })
            .pipe(
              Effect.tap(() => Effect.sync(() => recorded.add(key))),
              Effect.catch((error) => Effect.logWarning(`could not record an Event on ${target.kind} ${target.name}: ${error.message}`))
            )
        })
        return EventRecorder.of({ warn })
      })
    )
}
