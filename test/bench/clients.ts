// Connected proxies for the benchmarks: xDS clients that speak like
// agentgateway, each on its own connection, spread over the gateways. They
// keep only names and arrival times, and wake waiters as responses arrive
// (no polling), so the measuring process adds as little load as it can.
import { RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"
import { TestProxy } from "../support/xdsClient.ts"
import { sleep } from "./stats.ts"

export interface Arrival {
  readonly at: number
  readonly names: ReadonlySet<string>
}

export interface BenchClient {
  readonly gateway: number
  readonly proxy: TestProxy
  readonly arrivals: Array<Arrival>
  /** Called after every arrival. */
  readonly listeners: Set<() => void>
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
    const listeners = new Set<() => void>()
    const proxy = new TestProxy({
      address,
      gateway: "gw",
      namespace: `ns-${gateway}`,
      ...(token === undefined ? {} : { token }),
      record: false,
      channelOptions: { "grpc.use_local_subchannel_pool": 1, "grpc.max_receive_message_length": 256 * 1024 * 1024 },
      onResponse: (response) => {
        if (response.typeUrl !== RESOURCE_TYPE_URL) return
        arrivals.push({ at: performance.now(), names: new Set([...response.resources.map((r) => r.name), ...response.removedResources]) })
        for (const listener of listeners) listener()
      }
    })
    clients.push({ gateway, proxy, arrivals, listeners })
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

/** When the client first saw `name` at or after `since`. */
const seenAt = (client: BenchClient, name: string, since: number): number | undefined => {
  for (let i = client.arrivals.length - 1; i >= 0; i--) {
    const arrival = client.arrivals[i]!
    if (arrival.at < since) break
    if (arrival.names.has(name)) {
      // Earlier arrivals may also carry it; the first one counts.
      let first = arrival.at
      for (let j = i - 1; j >= 0 && client.arrivals[j]!.at >= since; j--) if (client.arrivals[j]!.names.has(name)) first = client.arrivals[j]!.at
      return first
    }
  }
  return undefined
}

/** When every client of `gateway` has seen `name` (in a response or a removal), or undefined on timeout. */
export const awaitName = (
  clients: ReadonlyArray<BenchClient>,
  gateway: number,
  name: string,
  since: number,
  timeoutMs = 10_000
): Promise<number | undefined> => {
  const mine = clients.filter((c) => c.gateway === gateway)
  return new Promise((resolve) => {
    const check = () => {
      const seen = mine.map((c) => seenAt(c, name, since))
      if (!seen.every((at) => at !== undefined)) return false
      finish(Math.max(...(seen as Array<number>)))
      return true
    }
    const finish = (at: number | undefined) => {
      clearTimeout(timer)
      for (const client of mine) client.listeners.delete(check)
      resolve(at)
    }
    const timer = setTimeout(() => finish(undefined), timeoutMs)
    for (const client of mine) client.listeners.add(check)
    check()
  })
}
