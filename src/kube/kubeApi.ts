// A small client for the Kubernetes API: credentials and TLS from a
// KubeConfig (@kubernetes/client-node), requests over undici on pooled
// connections. Informers use the same KubeConfig.
import { KubeConfig } from "@kubernetes/client-node"
import { Context, Effect, Layer, Option, Schema } from "effect"
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

/** The body of most failed requests: a `v1 Status` (a few answers are plain text instead). */
const KubeStatus = Schema.Struct({
  reason: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String)
})
const decodeStatus = Schema.decodeUnknownOption(Schema.fromJsonString(KubeStatus))

export type RequestBody =
  | { readonly contentType: "application/json" | "application/merge-patch+json"; readonly json: unknown }
  | { readonly contentType: "application/apply-patch+yaml"; readonly json: unknown }

export type KubeMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export type KubeRequest = <A = unknown>(method: KubeMethod, path: string, body?: RequestBody) => Effect.Effect<A, KubeApiError>

export class KubeApi extends Context.Service<
  KubeApi,
  {
    readonly config: KubeConfig
    readonly request: KubeRequest
  }
>()("agentplane/kube/KubeApi") {
  /**
   * Tests: requests answered by `request` (an in-memory API, a table of answers). The KubeConfig
   * points nowhere; only informers read it, and they need the real server.
   */
  static readonly layerTest = (request: KubeRequest) => Layer.succeed(KubeApi, KubeApi.of({ config: new KubeConfig(), request }))

  /** From a kubeconfig file, `$KUBECONFIG`, or the in-cluster service account. */
  static readonly layer = (kubeconfig: string | undefined) =>
    Layer.effect(
      KubeApi,
      Effect.gen(function* () {
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
        const request = <A>(method: KubeMethod, path: string, body?: RequestBody) =>
          Effect.tryPromise({
            try: (signal) =>
              connections.use(async (connection) => {
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
                  const status = Option.getOrElse(decodeStatus(text), () => ({}) as typeof KubeStatus.Type)
                  throw new KubeApiError({
                    method,
                    path,
                    status: response.status,
                    reason: status.reason ?? response.statusText,
                    message: status.message ?? `${response.status} ${response.statusText}: ${text.trim()}`
                  })
                }
                return (text === "" ? undefined : JSON.parse(text)) as A
              }),
            // A refusal is already a KubeApiError; anything else means the server was not reached.
            catch: (cause) =>
              cause instanceof KubeApiError
                ? cause
                : new KubeApiError({ method, path, status: 0, reason: "Unreachable", message: cause instanceof Error ? cause.message : String(cause) })
          })
        return KubeApi.of({ config, request })
      })
    )
}
