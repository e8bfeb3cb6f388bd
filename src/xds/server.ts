// The delta ADS gRPC server. grpc-js owns the sockets; every stream runs as
// its own fiber that feeds requests and snapshot updates through the pure
// protocol reducer and writes what it returns.
import * as grpc from "@grpc/grpc-js"
import { Clock, Context, Effect, FiberSet, Layer, Option, Queue, Result, Schema, Stream, type Cause } from "effect"
import { Metrics } from "../telemetry/metrics.ts"
import { Readiness } from "../telemetry/readiness.ts"
import { AggregatedDiscoveryServiceService, type AggregatedDiscoveryServiceServer } from "../gen/envoy/service/discovery/v3/ads.ts"
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery.ts"
import { bearerToken, type XdsAuthError, XdsAuthenticator } from "./auth.ts"
import { DataPlane } from "./dataPlane.ts"
import { streamLifetime } from "./lifetime.ts"
import { defaultStreamLimits, type StreamLimits } from "./limits.ts"
import { describeNack } from "./nack.ts"
import { gatewayOf, nodeIdOf } from "./node.ts"
import { initialState, step, type StreamEvent, type StreamOutput, type StreamState } from "./protocol.ts"
import { EMPTY_VIEW, RESOURCE_TYPE_URL, typeUrlLabel } from "./snapshot.ts"
import { SnapshotStore } from "./snapshotStore.ts"
import { serverCredentials, type XdsTls } from "./tls.ts"

/** The proxy accepts responses up to 200 MiB. */
const MAX_SEND_BYTES = 200 * 1024 * 1024
const MAX_RECEIVE_BYTES = 16 * 1024 * 1024

export class XdsListenError extends Schema.TaggedError<XdsListenError>()("XdsListenError", {
  address: Schema.String,
  message: Schema.String
}) {}

type Call = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>

/** How a stream that fails authentication is closed; UNAVAILABLE and RESOURCE_EXHAUSTED make the proxy retry. */
const AUTH_CODES: Record<XdsAuthError["_tag"], grpc.status> = {
  XdsUnauthenticated: grpc.status.UNAUTHENTICATED,
  XdsPermissionDenied: grpc.status.PERMISSION_DENIED,
  XdsAuthUnavailable: grpc.status.UNAVAILABLE,
  XdsRateLimited: grpc.status.RESOURCE_EXHAUSTED
}

const closeWith = (call: Call, code: grpc.status, details: string) => Effect.sync(() => call.emit("error", { code, details, metadata: new grpc.Metadata() }))

const write = (call: Call, response: DeltaDiscoveryResponse) =>
  Effect.callback<void>((resume) => {
    // Wait for the socket to drain so a slow proxy conflates snapshots instead of queueing them.
    if (call.write(response)) resume(Effect.void)
    else call.once("drain", () => resume(Effect.void))
  })

/**
 * Opens a stream: first its credentials (before anything it sent is read), then its first
 * request: which Gateway it names and whether the credentials may read it. Returns what the
 * stream keeps — not the node, which the client may have made megabytes long — or undefined once
 * the stream is closed.
 */
const open = Effect.fnUntraced(function* (call: Call, requests: Queue.Dequeue<DeltaDiscoveryRequest, Cause.Done>, limits: StreamLimits) {
  const metrics = yield* Metrics
  const authenticator = yield* XdsAuthenticator
  const peer = call.getPeer()
  const refuse = (code: grpc.status, message: string, gateway?: string) =>
    Effect.gen(function* () {
      yield* Effect.logWarning(`refused xDS stream from ${peer}${gateway === undefined ? "" : ` for gateway ${gateway}`} (${grpc.status[code]}): ${message}`)
      yield* metrics.refusedStream(grpc.status[code])
      yield* closeWith(call, code, message)
      return undefined
    })

  const token = bearerToken(call.metadata.get("authorization")[0])
  const authenticated = yield* authenticator.authenticate(token, peer).pipe(Effect.result)
  if (Result.isFailure(authenticated)) return yield* refuse(AUTH_CODES[authenticated.failure._tag], authenticated.failure.message)
  const grant = authenticated.success

  // A client that opens streams and never asks would otherwise hold them (and their memory) forever.
  const taken = yield* Queue.take(requests).pipe(Effect.option, Effect.timeoutOption(limits.firstRequestTimeoutMs))
  if (Option.isNone(taken)) {
    return yield* refuse(
      grpc.status.DEADLINE_EXCEEDED,
      `no request within ${limits.firstRequestTimeoutMs / 1000} s of opening the stream; agentgateway subscribes at once`
    )
  }
  if (Option.isNone(taken.value)) return undefined
  const first = taken.value.value
  const named = gatewayOf(first.node)
  if (Result.isFailure(named)) return yield* refuse(grpc.status.INVALID_ARGUMENT, named.failure.message)
  const { gateway } = named.success
  // Before anything is sent: a proxy may only ever see its own Gateway's configuration.
  const permitted = yield* grant.permits(gateway).pipe(Effect.result)
  if (Result.isFailure(permitted)) return yield* refuse(grpc.status.PERMISSION_DENIED, permitted.failure.message, gateway)
  return {
    gateway,
    nodeId: nodeIdOf(first.node!),
    grant,
    recheck: authenticator.reauthenticate(token, peer),
    request: { ...first, node: undefined }
  }
})

const handleStream = Effect.fnUntraced(
  function* (call: Call, streamId: string, limits: StreamLimits) {
    const store = yield* SnapshotStore
    const dataPlane = yield* DataPlane
    const metrics = yield* Metrics
    const peer = call.getPeer()

    const requests = yield* Queue.unbounded<DeltaDiscoveryRequest, Cause.Done>()
    call.on("data", (request: DeltaDiscoveryRequest) => Queue.offerUnsafe(requests, request))
    call.on("end", () => Queue.endUnsafe(requests))
    call.on("error", () => Queue.endUnsafe(requests))
    call.on("cancelled", () => Queue.endUnsafe(requests))

    const opened = yield* open(call, requests, limits)
    if (opened === undefined) return
    const { gateway, nodeId } = opened
    yield* dataPlane.connect({ stream: streamId, nodeId, gateway, peer })
    yield* Effect.addFinalizer(() => dataPlane.disconnect(streamId).pipe(Effect.andThen(Effect.logInfo(`proxy disconnected`))))
    yield* Effect.logInfo(`proxy connected as ${opened.grant.who}`)

    const published = yield* store.current
    if (!published.snapshot.gateways.has(gateway)) {
      yield* Effect.logWarning(
        `proxy serves gateway ${gateway}, which agentplane does not program (unknown, not of our GatewayClass, or not accepted); it gets an empty configuration until that changes`
      )
    }
    let state: StreamState = initialState(`${streamId}.`, published.snapshot.gateways.get(gateway) ?? EMPTY_VIEW)
    let publishedAt = published.publishedAt

    const handle = (output: StreamOutput) =>
      Effect.gen(function* () {
        switch (output._tag) {
          case "Send": {
            yield* write(call, output.response)
            yield* metrics.pushed(typeUrlLabel(output.response.typeUrl), output.trigger, output.response.resources.length)
            if (output.trigger === "update") {
              const now = yield* Clock.currentTimeMillis
              yield* metrics.pushLatency(Math.max(0, now - publishedAt) / 1000)
            }
            yield* Effect.logDebug(
              `sent ${output.response.resources.length} resource(s), removed ${output.response.removedResources.length} (${output.response.typeUrl}, nonce ${output.response.nonce})`
            )
            break
          }
          case "Answered": {
            yield* dataPlane.answered(streamId, output.typeUrl, output.confirmed, output.refused, output.typeUrl === RESOURCE_TYPE_URL)
            if (output.errors.length > 0) {
              yield* metrics.nacked(gateway, typeUrlLabel(output.typeUrl), output.errors.length)
              yield* Effect.logWarning(
                `proxy refused ${output.errors.length} resource(s) (NACK, nonce ${output.nonce}); they are not sent again until they change: ${describeNack(
                  output.errors
                )}`
              ).pipe(Effect.annotateLogs({ typeUrl: output.typeUrl }))
            }
            if (output.warnings.length > 0) {
              yield* Effect.logWarning(`proxy accepted ${output.warnings.length} resource(s) with warnings: ${describeNack(output.warnings)}`)
            }
            break
          }
          case "Ignored":
            yield* Effect.logDebug(output.reason)
            break
          case "Refuse": {
            yield* Effect.logWarning(`closed xDS stream of node ${nodeId} for gateway ${gateway} (${output.code}): ${output.reason}`)
            yield* metrics.refusedStream(output.code)
            yield* closeWith(call, grpc.status[output.code], output.reason)
            return false
          }
        }
        return true
      })

    /** False once the stream was closed: what the client queued meanwhile is not looked at. */
    const process = (event: StreamEvent) =>
      Effect.gen(function* () {
        const [next, outputs] = step(state, event)
        state = next
        for (const output of outputs) if (!(yield* handle(output))) return false
        return true
      })

    if (!(yield* process({ _tag: "Request", request: opened.request }))) return

    // Conflated by the store: a slow stream only ever holds the latest view.
    const updates = store.gatewayChanges(gateway).pipe(
      Stream.map((update): StreamEvent => {
        publishedAt = update.publishedAt
        return { _tag: "Update", view: update.view }
      })
    )
    const incoming = Stream.fromQueue(requests).pipe(Stream.map((request): StreamEvent => ({ _tag: "Request", request })))
    let serving = true
    const serve = Stream.merge(incoming, updates, { haltStrategy: "left" }).pipe(
      Stream.runForEachWhile((event) => process(event).pipe(Effect.tap((more) => Effect.sync(() => (serving = more))))),
      Effect.as(undefined)
    )
    const closing = yield* Effect.raceFirst(serve, streamLifetime(opened.grant, gateway, limits, opened.recheck))
    if (closing !== undefined) {
      const message = `closed xDS stream of node ${nodeId} for gateway ${gateway} (${closing.code}): ${closing.reason}`
      yield* closing.code === "UNAVAILABLE" ? Effect.logInfo(message) : Effect.logWarning(message)
      return yield* closeWith(call, grpc.status[closing.code], closing.reason)
    }
    if (serving) call.end()
  },
  (effect, call: Call, streamId: string, _limits: StreamLimits) =>
    effect.pipe(
      Effect.scoped,
      // On shutdown, tell the proxy to reconnect (to another replica, or to us once we are back).
      Effect.onInterrupt(() => closeWith(call, grpc.status.UNAVAILABLE, "agentplane is shutting down; reconnect")),
      Effect.catchCause((cause) => Effect.logError("xDS stream failed", cause)),
      Effect.annotateLogs({ stream: streamId, peer: call.getPeer() })
    )
)

export class XdsServer extends Context.Service<
  XdsServer,
  {
    /** The port actually bound (useful with port 0). */
    readonly port: number
  }
>()("agentplane/xds/XdsServer") {
  /** Plaintext HTTP/2 unless `tls` names a certificate and key; `limits` time the streams. */
  static readonly layer = (address: string, tls?: XdsTls, limits: Partial<StreamLimits> = {}) =>
    Layer.effect(
      XdsServer,
      Effect.gen(function* () {
        const server = yield* Effect.acquireRelease(
          Effect.sync(
            () =>
              new grpc.Server({
                "grpc.max_send_message_length": MAX_SEND_BYTES,
                "grpc.max_receive_message_length": MAX_RECEIVE_BYTES
              })
          ),
          (server) =>
            Effect.callback<void>((resume) => {
              server.tryShutdown(() => resume(Effect.void))
              setTimeout(() => server.forceShutdown(), 1000).unref()
            })
        )
        // Made after the server, so its fibers are interrupted (and their streams closed) before the server stops.
        const run = yield* FiberSet.makeRuntime<SnapshotStore | DataPlane | Metrics | XdsAuthenticator>()
        let streams = 0
        const streamLimits: StreamLimits = { ...defaultStreamLimits, ...limits }
        const implementation: AggregatedDiscoveryServiceServer = {
          streamAggregatedResources: (call) => {
            call.emit("error", {
              code: grpc.status.UNIMPLEMENTED,
              details: "agentplane serves only incremental xDS: use DeltaAggregatedResources",
              metadata: new grpc.Metadata()
            })
          },
          deltaAggregatedResources: (call) => {
            streams += 1
            run(handleStream(call, `s${streams}`, streamLimits))
          }
        }
        server.addService(AggregatedDiscoveryServiceService, implementation)
        const credentials = yield* serverCredentials(tls)
        const port = yield* Effect.callback<number, XdsListenError>((resume) => {
          server.bindAsync(address, credentials, (error, port) => {
            if (error !== null) resume(Effect.fail(new XdsListenError({ address, message: error.message })))
            else resume(Effect.succeed(port))
          })
        })
        yield* (yield* Readiness).xdsListening
        yield* Effect.logInfo(`xDS server listening on ${address.replace(/:\d+$/, "")}:${port} (${tls === undefined ? "plaintext" : "TLS"})`)
        return XdsServer.of({ port })
      })
    )
}
