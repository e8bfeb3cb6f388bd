// Connected proxies for the benchmarks: xDS clients that speak like
// agentgateway, each on its own connection, spread over the gateways.
import { RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"
import { TestProxy } from "../support/xdsClient.ts"
import { sleep } from "./stats.ts"

export interface Arrival {
  readonly at: number
  readonly names: ReadonlyArray<string>
}

export interface BenchClient {
  readonly gateway: number
  readonly proxy: TestProxy
  readonly arrivals: Array<Arrival>
}

/** `tokenFor(gateway)` gives the bearer token a proxy of that gateway presents (cluster mode). */
export const connectClients = async (
  address: string,
  count: number,
  gateways: number,
  tokenFor?: (gateway: number) => Promise<string>
): Promise<Array<BenchClient>> => {
  const clients: Array<BenchClient> = []
  for (let i = 0; i < count; i++) {
    const gateway = i % gateways
    const token = tokenFor === undefined ? undefined : await tokenFor(gateway)
    const arrivals: Array<Arrival> = []
    const proxy = new TestProxy({
      address,
      gateway: "gw",
      namespace: `ns-${gateway}`,
      ...(token === undefined ? {} : { token }),
      channelOptions: { "grpc.use_local_subchannel_pool": 1, "grpc.max_receive_message_length": 256 * 1024 * 1024 },
      onResponse: (response) => {
        if (response.typeUrl !== RESOURCE_TYPE_URL) return
        arrivals.push({ at: performance.now(), names: [...response.resources.map((r) => r.name), ...response.removedResources] })
      }
    })
    clients.push({ gateway, proxy, arrivals })
  }
  return clients
}

/** Waits until every client got its first full configuration; returns when the last one did. */
export const awaitFirstSnapshots = async (clients: ReadonlyArray<BenchClient>, timeoutMs = 300_000): Promise<number> => {
  const deadline = Date.now() + timeoutMs
  while (!clients.every((c) => c.arrivals.length > 0)) {
    if (Date.now() > deadline) throw new Error(`only ${clients.filter((c) => c.arrivals.length > 0).length} of ${clients.length} clients got a snapshot`)
    await sleep(2)
  }
  return Math.max(...clients.map((c) => c.arrivals[0]!.at))
}

export const closeClients = (clients: ReadonlyArray<BenchClient>) => {
  for (const client of clients) client.proxy.close()
}

/** When every client of `gateway` has seen `name` (in a response or a removal), or undefined on timeout. */
export const awaitName = async (
  clients: ReadonlyArray<BenchClient>,
  gateway: number,
  name: string,
  since: number,
  timeoutMs = 10_000
): Promise<number | undefined> => {
  const mine = clients.filter((c) => c.gateway === gateway)
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const seen = mine.map((c) => c.arrivals.find((a) => a.at >= since && a.names.includes(name))?.at)
    if (seen.every((at) => at !== undefined)) return Math.max(...(seen as Array<number>))
    if (performance.now() > deadline) return undefined
    await sleep(0.5)
  }
}
