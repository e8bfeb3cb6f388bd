// Propagation in Kubernetes mode: an API-server write (a Service's port is
// patched) to the delta at the clients, against the test API server.
import { Agent } from "node:https"
import { type Cluster, startCluster } from "../harness/kube/cluster.ts"
import { installOurCrds, type Kube, kubeClient, serviceAccountToken } from "../support/kube.ts"
import { awaitQuiet, startAgentplane } from "./agentplane.ts"
import { awaitFirstSnapshots, closeClients, connectClients, type BenchClient } from "./clients.ts"
import { watchServices } from "./apiWatch.ts"
import { drive, figures as propagationStats, WARMUP_CHANGES, type Apply, type PropagationFigures } from "./propagation.ts"
import { gateway, gatewayClass, namespaceOf, service, type WorldSize } from "./world.ts"

export interface KubePropagationFigures {
  readonly clients: number
  /** Write → delta at every client of the gateway. */
  readonly figures: PropagationFigures
  /** Write → the API server's answer to it. */
  readonly apiReturned: PropagationFigures
  /** Write → the same change on a plain watch of the API server (no agentplane in between). */
  readonly apiWatch: PropagationFigures
  /** Plain watch → delta at the clients, change by change: what agentplane adds to the API server. */
  readonly agentplaneShare: PropagationFigures
}

const defined = (values: ReadonlyArray<number | undefined>) => values.filter((value): value is number => value !== undefined)

const inBatches = async <A>(items: ReadonlyArray<A>, size: number, run: (item: A) => Promise<unknown>) => {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run))
}

const pathOf = (object: any) =>
  object.kind === "Service"
    ? `/api/v1/namespaces/${object.metadata.namespace}/services`
    : object.kind === "Gateway"
      ? `/apis/gateway.networking.k8s.io/v1/namespaces/${object.metadata.namespace}/gateways`
      : "/apis/gateway.networking.k8s.io/v1/gatewayclasses"

const populate = async (kube: Kube, size: WorldSize, log: (line: string) => void) => {
  await installOurCrds(kube)
  await kube.must("POST", pathOf(gatewayClass()), gatewayClass())
  const namespaces = Array.from({ length: size.gateways }, (_, g) => `ns-${g}`)
  await inBatches(namespaces, 32, (name) => kube.must("POST", "/api/v1/namespaces", { metadata: { name } }))
  await inBatches(
    namespaces.map((_, g) => gateway(g)),
    32,
    (object) => kube.must("POST", pathOf(object), object)
  )
  const services = Array.from({ length: size.services }, (_, s) => service(s, size))
  const start = Date.now()
  await inBatches(services, 64, (object) => kube.must("POST", pathOf(object), object))
  log(`created ${size.services} Services in ${((Date.now() - start) / 1000).toFixed(1)} s`)
}

/** `changes` Service writes (after the warm-up ones), each awaited at every client of its gateway. */
const measureWrites = async (
  cluster: Cluster,
  writer: Kube,
  clients: ReadonlyArray<BenchClient>,
  size: WorldSize,
  changes: number,
  firstVariant: number
): Promise<KubePropagationFigures> => {
  // The same writes seen by a plain watch: the API server's share of the latency.
  const watch = await watchServices(cluster)
  const sent: Array<{ namespace: string; name: string; port: number; startedAt: number; returnedAt: number }> = []
  const apply: Apply = async (index, variant) => {
    const port = 8000 + (variant % 1000)
    const startedAt = performance.now()
    await writer.must(
      "PATCH",
      `/api/v1/namespaces/${namespaceOf(index, size)}/services/svc-${index}`,
      {
        spec: { ports: [{ name: "mcp", port, appProtocol: "kgateway.dev/mcp" }] }
      },
      "application/merge-patch+json"
    )
    sent.push({ namespace: namespaceOf(index, size), name: `svc-${index}`, port, startedAt, returnedAt: performance.now() })
    return { service: index, gateway: index % size.gateways, newName: `backend/${namespaceOf(index, size)}/svc-${index}:${port}`, startedAt }
  }
  const { figures, samples } = await drive(clients, size, apply, changes, undefined, firstVariant)
  watch.stop()
  sent.splice(0, WARMUP_CHANGES)
  const returned = propagationStats(
    sent.map((s) => s.returnedAt - s.startedAt),
    0
  )
  const watched = sent.map((s) => {
    const at = watch.arrival(s.namespace, s.name, s.port)
    return at === undefined ? undefined : at - s.startedAt
  })
  // Per change: the delta's arrival after the plain watch saw the write.
  const shares = watched.flatMap((watchedAfter, i) => (watchedAfter === undefined || samples[i] === undefined ? [] : [Math.max(0, samples[i]! - watchedAfter)]))
  return {
    clients: clients.length,
    figures,
    apiReturned: returned,
    apiWatch: propagationStats(defined(watched), watched.length - defined(watched).length),
    agentplaneShare: propagationStats(shares, sent.length - shares.length)
  }
}

export const kubeModePropagation = async (
  size: WorldSize,
  clientCounts: ReadonlyArray<number>,
  changes: number,
  repeats: number,
  log: (line: string) => void
): Promise<ReadonlyArray<ReadonlyArray<KubePropagationFigures>>> => {
  const cluster = await startCluster({ log })
  // Kept-alive connections make creating 10,000 Services about twice as fast as a handshake each.
  const setupAgent = new Agent({ keepAlive: true, maxSockets: 16 })
  const kube = kubeClient(cluster, cluster.token, setupAgent)
  // Writes go over one kept-alive connection, as a controller's would: what is timed is the
  // write, not a TLS handshake.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const writer = kubeClient(cluster, cluster.token, agent)
  try {
    await populate(kube, size, log)
    const agentplane = await startAgentplane(["--kube", "--kubeconfig", cluster.kubeconfigPath])
    try {
      const results: Array<ReadonlyArray<KubePropagationFigures>> = []
      for (const count of clientCounts) {
        // Proxies authenticate as the ServiceAccount named after their Gateway.
        const tokens = new Map<number, Promise<string>>()
        const tokenFor = (g: number) => {
          if (!tokens.has(g)) tokens.set(g, serviceAccountToken(kube, `ns-${g}`, "gw"))
          return tokens.get(g)!
        }
        const clients: Array<BenchClient> = await connectClients(agentplane.xdsAddress, count, size.gateways, tokenFor)
        try {
          await awaitFirstSnapshots(clients)
          const runs: Array<KubePropagationFigures> = []
          for (let run = 0; run < repeats; run++) {
            await awaitQuiet([agentplane.pid, ...cluster.processIds()], log)
            runs.push(await measureWrites(cluster, writer, clients, size, changes, 1 + run * (WARMUP_CHANGES + changes)))
          }
          results.push(runs)
        } finally {
          closeClients(clients)
        }
      }
      return results
    } finally {
      await agentplane.stop()
    }
  } finally {
    agent.destroy()
    setupAgent.destroy()
    await cluster.stop()
  }
}
