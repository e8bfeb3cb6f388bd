// A delta xDS client that speaks like agentgateway: same Node shape, the
// same two subscriptions in the same order, ACKs by nonce. Tests read its
// received responses and holdings.
import * as grpc from "@grpc/grpc-js"
import { AggregatedDiscoveryServiceClient } from "../../src/gen/envoy/service/discovery/v3/ads.ts"
import { DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from "../../src/gen/envoy/service/discovery/v3/discovery.ts"
import { Resource } from "../../src/gen/agentgateway/resource.ts"
import { ADDRESS_TYPE_URL, RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"

export interface ProxyOptions {
  readonly address: string
  readonly gateway: string
  readonly namespace: string
  readonly initialVersions?: Readonly<Record<string, string>>
  /** Decide the answer to a response: undefined = ACK, otherwise the NACK message. */
  readonly judge?: (response: DeltaDiscoveryResponse) => string | undefined
  /** Metadata to send instead of the agentgateway default. */
  readonly metadata?: Record<string, string>
  /** Node id to send instead of the agentgateway default. */
  readonly nodeId?: string
  /** grpc-js channel options (e.g. a private subchannel pool, so that each proxy has its own connection). */
  readonly channelOptions?: grpc.ChannelOptions
  /** Sent as `authorization: Bearer …` (with `clusterid`), as agentgateway sends its XDS_AUTH_TOKEN file. */
  readonly token?: string
  /** Default: plaintext HTTP/2. */
  readonly credentials?: grpc.ChannelCredentials
  /** Called with every response as it arrives, before it is answered. */
  readonly onResponse?: (response: DeltaDiscoveryResponse) => void
  /**
   * Keep every response and decode every resource (default), for tests to read. Benchmarks turn
   * this off so that a hundred clients holding a large configuration stay cheap in CPU and memory.
   */
  readonly record?: boolean
}

export const proxyNode = (gateway: string, namespace: string, metadata?: Record<string, string>, id?: string) => ({
  id: id ?? `agentgateway~127.0.0.1~${gateway}-0.${namespace}~${namespace}.svc.cluster.local`,
  metadata: metadata ?? {
    GATEWAY_NAME: gateway,
    NAMESPACE: namespace,
    role: `${namespace}~${gateway}`,
    NAME: `${gateway}-0`,
    INSTANCE_IPS: "127.0.0.1",
    NODE_NAME: "test"
  }
})

export class TestProxy {
  readonly responses: Array<DeltaDiscoveryResponse> = []
  /** name → version, per type URL, as a proxy would hold after partial acceptance. */
  readonly holdings = new Map<string, Map<string, string>>([
    [ADDRESS_TYPE_URL, new Map()],
    [RESOURCE_TYPE_URL, new Map()]
  ])
  readonly decoded = new Map<string, Resource>()
  status: grpc.StatusObject | undefined
  private readonly waiters: Array<() => void> = []
  private readonly client: AggregatedDiscoveryServiceClient
  private readonly call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>

  readonly options: ProxyOptions

  constructor(options: ProxyOptions) {
    this.options = options
    this.client = new AggregatedDiscoveryServiceClient(options.address, options.credentials ?? grpc.credentials.createInsecure(), options.channelOptions ?? {})
    const metadata = new grpc.Metadata()
    if (options.token !== undefined) {
      metadata.set("authorization", `Bearer ${options.token}`)
      metadata.set("clusterid", "Kubernetes")
    }
    this.call = this.client.deltaAggregatedResources(metadata)
    this.call.on("data", (response: DeltaDiscoveryResponse) => this.receive(response))
    this.call.on("status", (status: grpc.StatusObject) => {
      this.status = status
      this.wake()
    })
    this.call.on("error", () => this.wake())
    const node = proxyNode(options.gateway, options.namespace, options.metadata, options.nodeId)
    for (const typeUrl of [ADDRESS_TYPE_URL, RESOURCE_TYPE_URL]) {
      this.call.write(
        DeltaDiscoveryRequest.fromPartial({
          node,
          typeUrl,
          initialResourceVersions: typeUrl === RESOURCE_TYPE_URL ? { ...options.initialVersions } : {}
        })
      )
    }
    for (const [name, version] of Object.entries(options.initialVersions ?? {})) this.holdings.get(RESOURCE_TYPE_URL)!.set(name, version)
  }

  private receive(response: DeltaDiscoveryResponse) {
    this.options.onResponse?.(response)
    const record = this.options.record ?? true
    if (record) this.responses.push(response)
    const verdict = this.options.judge?.(response)
    const refused = new Set<string>()
    if (verdict !== undefined) {
      for (const entry of JSON.parse(verdict) as Array<{ key: string; error?: string }>) if (entry.error !== undefined) refused.add(entry.key)
    }
    const held = this.holdings.get(response.typeUrl) ?? new Map<string, string>()
    this.holdings.set(response.typeUrl, held)
    for (const resource of response.resources) {
      if (refused.has(resource.name)) continue
      held.set(resource.name, resource.version)
      if (record && response.typeUrl === RESOURCE_TYPE_URL) this.decoded.set(resource.name, Resource.decode(resource.resource!.value))
    }
    for (const name of response.removedResources) {
      held.delete(name)
      this.decoded.delete(name)
    }
    this.call.write(
      DeltaDiscoveryRequest.fromPartial({
        typeUrl: response.typeUrl,
        responseNonce: response.nonce,
        ...(verdict === undefined ? {} : { errorDetail: { code: 0, message: verdict } })
      })
    )
    this.wake()
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter()
  }

  /** Resolves when `predicate` holds, checking after every response. */
  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!predicate()) {
      if (this.status !== undefined) throw new Error(`stream closed (${this.status.code}: ${this.status.details}) while waiting for ${what}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; ${this.responses.length} responses so far`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Resolves with the status the server closed the stream with. */
  async closed(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    const deadline = Date.now() + timeoutMs
    while (this.status === undefined) {
      if (Date.now() > deadline) throw new Error(`the stream is still open after ${timeoutMs} ms; ${this.responses.length} responses so far`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return this.status
  }

  resourceHoldings(): ReadonlyMap<string, string> {
    return this.holdings.get(RESOURCE_TYPE_URL)!
  }

  close() {
    this.call.end()
    this.call.cancel()
    this.client.close()
  }
}
