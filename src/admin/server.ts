// Admin endpoints, on two listeners. The admin address serves what probes and scrapers need:
// /healthz, /readyz, /metrics. The debug address (loopback by default, reached with
// `kubectl port-forward`) serves /debug/config_dump, which shows every object's configuration and
// status and is expensive to build, so it is not for every pod in the cluster to read.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { Context, Effect, FiberSet, Layer, Schema } from "effect"
import { withDataPlane } from "../xds/programmedStatus.ts"
import { DataPlane } from "../xds/dataPlane.ts"
import { SnapshotStore } from "../xds/snapshotStore.ts"
import { configDumpText } from "./configDump.ts"
import { Metrics } from "../telemetry/metrics.ts"
import { Readiness } from "../telemetry/readiness.ts"

export class AdminListenError extends Schema.TaggedError<AdminListenError>()("AdminListenError", {
  /** The flag that named the address, e.g. `admin-address`. */
  flag: Schema.String,
  address: Schema.String,
  message: Schema.String
}) {}

export interface AdminAddresses {
  /** HOST:PORT of /healthz, /readyz and /metrics. */
  readonly address: string
  /** HOST:PORT of /debug/config_dump; none: not served. */
  readonly debugAddress?: string | undefined
}

const splitAddress = (address: string): { host: string; port: number } => {
  const at = address.lastIndexOf(":")
  return { host: address.slice(0, at).replace(/^\[|\]$/g, "") || "127.0.0.1", port: Number(address.slice(at + 1)) }
}

type Reply =
  | { readonly status: number; readonly type: string; readonly body: string; readonly headers?: Readonly<Record<string, string>> }
  /** A body written piece by piece, with backpressure; one such reply at a time per listener. */
  | { readonly status: number; readonly type: string; readonly pieces: () => Iterator<string> }

const text = (status: number, body: string, headers?: Readonly<Record<string, string>>): Reply => ({
  status,
  type: "text/plain; charset=utf-8",
  body,
  ...(headers === undefined ? {} : { headers })
})

/** Bytes written before the event loop is given a turn, so probes are answered during a dump. */
const SLICE_BYTES = 64 * 1024

/** Writes `pieces` to `response`, yielding to the event loop between slices and waiting for drain. */
const stream = (response: ServerResponse, pieces: Iterator<string>) =>
  Effect.callback<void>((resume) => {
    let stopped = false
    const finish = () => {
      if (stopped) return
      stopped = true
      resume(Effect.void)
    }
    // A client that goes away ends the dump too.
    response.once("close", finish)
    const slice = () => {
      if (stopped) return
      try {
        let written = 0
        while (written < SLICE_BYTES) {
          const next = pieces.next()
          if (next.done === true) {
            response.end(finish)
            return
          }
          written += next.value.length
          if (!response.write(next.value)) {
            response.once("drain", slice)
            return
          }
        }
        setImmediate(slice)
      } catch (error) {
        // Headers are sent: the client can only learn of the failure by the connection closing.
        stopped = true
        response.destroy()
        resume(Effect.die(error))
      }
    }
    slice()
    return Effect.sync(() => {
      stopped = true
    })
  })

export class AdminServer extends Context.Service<
  AdminServer,
  {
    readonly port: number
    /** Undefined when no debug address was given. */
    readonly debugPort: number | undefined
  }
>()("agentplane/admin/AdminServer") {
  static readonly layer = (addresses: AdminAddresses) =>
    Layer.effect(
      AdminServer,
      Effect.gen(function* () {
        const store = yield* SnapshotStore
        const dataPlane = yield* DataPlane
        const metrics = yield* Metrics
        const readiness = yield* Readiness
        const debugHint =
          addresses.debugAddress === undefined
            ? "debug endpoints are not served"
            : `debug endpoints are served on the debug address (--debug-address ${addresses.debugAddress})`

        const metricsReply = Effect.gen(function* () {
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
          return { status: 200, type: "text/plain; version=0.0.4; charset=utf-8", body } satisfies Reply
        })

        const adminRoute = (url: URL): Effect.Effect<Reply> =>
          Effect.gen(function* () {
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
              case "/metrics":
                return yield* metricsReply
              default:
                return url.pathname.startsWith("/debug/") ? text(404, `not found: ${debugHint}\n`) : text(404, "not found; try /healthz, /readyz or /metrics\n")
            }
          })

        const debugRoute = (url: URL): Effect.Effect<Reply> =>
          Effect.gen(function* () {
            if (url.pathname !== "/debug/config_dump") return text(404, "not found; try /debug/config_dump[?gateway=NAMESPACE/NAME]\n")
            const published = yield* store.current
            const proxies = yield* dataPlane.proxies
            const input = {
              snapshot: published.snapshot,
              statuses: withDataPlane(published.statuses, published.snapshot, proxies),
              problems: published.problems,
              proxies
            }
            const gateway = url.searchParams.get("gateway") ?? undefined
            return { status: 200, type: "application/json", pieces: () => configDumpText(input, gateway) } satisfies Reply
          })

        const run = yield* FiberSet.makeRuntime()
        const respond = (route: (url: URL) => Effect.Effect<Reply>) => {
          /** At most one streamed reply at a time: each holds the event loop and memory while it is written. */
          let streaming = false
          return (request: IncomingMessage, response: ServerResponse) => {
            let holding = false
            run(
              Effect.try({ try: () => new URL(request.url ?? "/", "http://admin"), catch: () => "bad URL" }).pipe(
                Effect.matchEffect({ onFailure: () => Effect.succeed(text(400, "bad request: not a URL path\n")), onSuccess: route }),
                Effect.flatMap((reply) =>
                  Effect.suspend(() => {
                    if ("pieces" in reply) {
                      if (streaming) {
                        response.writeHead(429, { "content-type": "text/plain; charset=utf-8", "retry-after": "1" })
                        response.end("another config_dump is being written; try again when it is done\n")
                        return Effect.void
                      }
                      streaming = holding = true
                      response.writeHead(reply.status, { "content-type": reply.type })
                      return stream(response, reply.pieces())
                    }
                    response.writeHead(reply.status, { "content-type": reply.type, ...reply.headers })
                    response.end(reply.body)
                    return Effect.void
                  })
                ),
                // A defect in a handler is an answer too: 500 if nothing was sent yet, else a closed connection.
                Effect.catchCause((cause) =>
                  Effect.logError(`admin request ${request.url ?? ""} failed`, cause).pipe(
                    Effect.andThen(
                      Effect.sync(() => {
                        if (!response.headersSent) {
                          response.writeHead(500, { "content-type": "text/plain; charset=utf-8" })
                          response.end("internal error; agentplane's log has the details\n")
                        } else response.destroy()
                      })
                    )
                  )
                ),
                Effect.ensuring(
                  Effect.sync(() => {
                    if (holding) streaming = false
                    // Interrupted (shutting down) before answering: close rather than leave the client waiting.
                    if (!response.writableEnded) response.destroy()
                  })
                )
              )
            )
          }
        }

        const listen = (flag: string, address: string, handler: ReturnType<typeof respond>) => {
          const { host, port } = splitAddress(address)
          return Effect.acquireRelease(
            Effect.callback<Server, AdminListenError>((resume) => {
              const server = createServer(handler)
              server.once("error", (error) => resume(Effect.fail(new AdminListenError({ flag, address, message: error.message }))))
              server.listen(port, host, () => {
                // Errors after listening (e.g. on accept) are logged, not thrown at the process.
                server.on("error", (error) => run(Effect.logWarning(`${flag} ${address}: ${error.message}`)))
                resume(Effect.succeed(server))
              })
            }),
            (server) =>
              Effect.callback<void>((resume) => {
                server.close(() => resume(Effect.void))
                server.closeAllConnections()
              })
          ).pipe(
            Effect.map((server) => {
              const bound = server.address()
              return { host, port: typeof bound === "object" && bound !== null ? bound.port : port }
            })
          )
        }

        const admin = yield* listen("admin-address", addresses.address, respond(adminRoute))
        yield* Effect.logInfo(`admin server listening on http://${admin.host}:${admin.port} (/healthz, /readyz, /metrics)`)
        let debugPort: number | undefined
        if (addresses.debugAddress !== undefined) {
          const debug = yield* listen("debug-address", addresses.debugAddress, respond(debugRoute))
          debugPort = debug.port
          yield* Effect.logInfo(`debug server listening on http://${debug.host}:${debug.port} (/debug/config_dump)`)
        }
        return AdminServer.of({ port: admin.port, debugPort })
      })
    )
}
