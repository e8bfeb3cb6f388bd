// Admin endpoints: /healthz, /readyz, /metrics, /debug/config_dump.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Context, Effect, FiberSet, Layer, Schema } from "effect"
import { withDataPlane } from "../xds/programmedStatus.ts"
import { DataPlane } from "../xds/dataPlane.ts"
import { SnapshotStore } from "../xds/snapshotStore.ts"
import { configDump } from "./configDump.ts"
import { Metrics } from "../telemetry/metrics.ts"
import { Readiness } from "../telemetry/readiness.ts"

export class AdminListenError extends Schema.TaggedError<AdminListenError>()("AdminListenError", {
  address: Schema.String,
  message: Schema.String
}) {}

const splitAddress = (address: string): { host: string; port: number } => {
  const at = address.lastIndexOf(":")
  return { host: address.slice(0, at).replace(/^\[|\]$/g, "") || "127.0.0.1", port: Number(address.slice(at + 1)) }
}

interface Reply {
  readonly status: number
  readonly type: string
  readonly body: string
}

const text = (status: number, body: string): Reply => ({ status, type: "text/plain; charset=utf-8", body })

export class AdminServer extends Context.Service<AdminServer, { readonly port: number }>()("agentplane/admin/AdminServer") {
  static readonly layer = (address: string) =>
    Layer.effect(
      AdminServer,
      Effect.gen(function*() {
        const store = yield* SnapshotStore
        const dataPlane = yield* DataPlane
        const metrics = yield* Metrics
        const readiness = yield* Readiness

        const route = (url: URL): Effect.Effect<Reply> =>
          Effect.gen(function*() {
            switch (url.pathname) {
              case "/healthz":
                return text(200, "ok\n")
              case "/readyz": {
                const published = yield* store.current
                if (published.generation === 0) return text(503, "configuration not read yet\n")
                if (!(yield* readiness.isXdsListening)) return text(503, "xDS server not listening yet\n")
                const unmet = yield* readiness.unmet
                return unmet.length === 0 ? text(200, "ready\n") : text(503, unmet.map((reason) => `${reason}\n`).join(""))
              }
              case "/metrics": {
                const published = yield* store.current
                const proxies = yield* dataPlane.proxies
                const perGateway = new Map<string, number>()
                for (const proxy of proxies) perGateway.set(proxy.gateway, (perGateway.get(proxy.gateway) ?? 0) + 1)
                const body = yield* metrics.render([
                  {
                    name: "agentplane_xds_connected_proxies",
                    help: "Proxies with an open xDS stream, by gateway.",
                    samples: [...perGateway].sort().map(([gateway, value]) => ({ labels: { gateway }, value }))
                  },
                  {
                    name: "agentplane_gateways_programmed",
                    help: "Gateways with configuration to serve.",
                    samples: [{ labels: {}, value: published.snapshot.gateways.size }]
                  },
                  {
                    name: "agentplane_config_problems",
                    help: "Input problems in the current configuration (objects or files that could not be read).",
                    samples: [{ labels: {}, value: published.problems.length }]
                  },
                  {
                    name: "agentplane_refused_resources",
                    help: "Resources currently refused by connected proxies, by gateway.",
                    samples: [...new Set(proxies.map((p) => p.gateway))].sort().map((gateway) => ({
                      labels: { gateway },
                      value: proxies.filter((p) => p.gateway === gateway).reduce((n, p) => n + p.refused.size, 0)
                    }))
                  }
                ])
                return { status: 200, type: "text/plain; version=0.0.4; charset=utf-8", body }
              }
              case "/debug/config_dump": {
                const published = yield* store.current
                const proxies = yield* dataPlane.proxies
                const dump = configDump(
                  {
                    snapshot: published.snapshot,
                    statuses: withDataPlane(published.statuses, published.snapshot, proxies),
                    problems: published.problems,
                    proxies
                  },
                  url.searchParams.get("gateway") ?? undefined
                )
                return { status: 200, type: "application/json", body: JSON.stringify(dump, null, 2) + "\n" }
              }
              default:
                return text(404, "not found; try /healthz, /readyz, /metrics or /debug/config_dump\n")
            }
          })

        const run = yield* FiberSet.makeRuntime()
        const handler = (request: IncomingMessage, response: ServerResponse) => {
          run(
            route(new URL(request.url ?? "/", "http://admin")).pipe(
              Effect.tap((reply) =>
                Effect.sync(() => {
                  response.writeHead(reply.status, { "content-type": reply.type })
                  response.end(reply.body)
                })
              )
            )
          )
        }
        const { host, port } = splitAddress(address)
        const server = yield* Effect.acquireRelease(
          Effect.callback<ReturnType<typeof createServer>, AdminListenError>((resume) => {
            const server = createServer(handler)
            server.once("error", (error) => resume(Effect.fail(new AdminListenError({ address, message: error.message }))))
            server.listen(port, host, () => resume(Effect.succeed(server)))
          }),
          (server) =>
            Effect.callback<void>((resume) => {
              server.close(() => resume(Effect.void))
              server.closeAllConnections()
            })
        )
        const bound = server.address()
        const boundPort = typeof bound === "object" && bound !== null ? bound.port : port
        yield* Effect.logInfo(`admin server listening on http://${host}:${boundPort}`)
        return AdminServer.of({ port: boundPort })
      })
    )
}
