// A small client for the Kubernetes API: credentials and TLS from a
// KubeConfig (@kubernetes/client-node), requests over undici on pooled
// connections. Informers use the same KubeConfig.
import { KubeConfig } from "@kubernetes/client-node"
import { Context, Effect, Layer, Schema } from "effect"
import { fetch } from "undici"
import { kubeConnections } from "./kubeConnections.ts"

export class KubeApiError extends Schema.TaggedError<KubeApiError>()("KubeApiError", {
  method: Schema.String,
  path: Schema.String,
  /** HTTP status, or 0 when the server could not be reached. */
  status: Schema.Number,
  reason: Schema.String,
  message: Schema.String
}) {}

export class KubeConfigError extends Schema.TaggedError<KubeConfigError>()("KubeConfigError", {
  message: Schema.String
}) {}

export interface KubeStatus {
  readonly reason?: string
  readonly message?: string
}

export type RequestBody =
  | { readonly contentType: "application/json" | "application/merge-patch+json"; readonly json: unknown }
  | { readonly contentType: "application/apply-patch+yaml"; readonly json: unknown }

export class KubeApi extends Context.Service<KubeApi, {
  readonly config: KubeConfig
  readonly request: <A = unknown>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: RequestBody) => Effect.Effect<A, KubeApiError>
}>()("agentplane/kube/KubeApi") {
  /** From a kubeconfig file, `$KUBECONFIG`, or the in-cluster service account. */
  static readonly layer = (kubeconfig: string | undefined) =>
    Layer.effect(
      KubeApi,
      Effect.gen(function*() {
        const config = yield* Effect.try({
          try: () => {
            const config = new KubeConfig()
            if (kubeconfig !== undefined) config.loadFromFile(kubeconfig)
            else config.loadFromDefault()
            if (config.getCurrentCluster() === null) throw new Error("it names no current cluster")
            return config
          },
          catch: (cause) =>
            new KubeConfigError({
              message: `cannot load the Kubernetes configuration${kubeconfig === undefined ? "" : ` from ${kubeconfig}`}: ${
                cause instanceof Error ? cause.message : String(cause)
              }; pass --kubeconfig, set KUBECONFIG, or run in a cluster`
            })
        })
        const server = config.getCurrentCluster()!.server
        // Closed with the layer, so no keep-alive socket outlives the process's work.
        const connections = yield* Effect.acquireRelease(
          Effect.sync(() => kubeConnections(config)),
          (connections) => Effect.promise(() => connections.close())
        )
        const request = <A>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: RequestBody) =>
          Effect.tryPromise({
            try: (signal) => connections.use(async (connection) => {
              const headers: Record<string, string> = { ...connection.headers, accept: "application/json" }
              if (body !== undefined) headers["content-type"] = body.contentType
              const response = await fetch(`${server}${path}`, {
                method,
                headers,
                signal,
                ...(connection.dispatcher === undefined ? {} : { dispatcher: connection.dispatcher }),
                ...(body === undefined ? {} : { body: JSON.stringify(body.json) })
              })
              const text = await response.text()
              if (!response.ok) {
                // Errors are usually a Status object, but not always (a plain "404 page not found").
                let status: KubeStatus = {}
                try {
                  status = JSON.parse(text) as KubeStatus
                } catch {}
                throw {
                  status: response.status,
                  reason: status.reason ?? response.statusText,
                  message: status.message ?? `${response.status} ${response.statusText}: ${text.trim()}`
                }
              }
              return (text === "" ? undefined : JSON.parse(text)) as A
            }),
            catch: (cause) => {
              const failure = cause as { status?: number; reason?: string; message?: string }
              return new KubeApiError({
                method,
                path,
                status: failure.status ?? 0,
                reason: failure.reason ?? "Unreachable",
                message: failure.message ?? String(cause)
              })
            }
          })
        return KubeApi.of({ config, request })
      })
    )
}
