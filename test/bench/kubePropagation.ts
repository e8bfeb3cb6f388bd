// Propagation in Kubernetes mode: an API-server write (a Service's port is
// patched) to the delta at the clients, against the test API server.
import { startCluster } from "../harness/kube/cluster.ts"
import { installCrd, kubeClient, readYaml, serviceAccountToken, type Kube } from "../support/kube.ts"
import { startAgentplane } from "./agentplane.ts"
import { awaitFirstSnapshots, closeClients, connectClients, type BenchClient } from "./clients.ts"
import { watchServices } from "./apiWatch.ts"
import { drive, figures as propagationStats, type Apply, type PropagationFigures } from "./propagation.ts"
import { gateway, gatewayClass, namespaceOf, service, type WorldSize } from "./world.ts"

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
  await installCrd(kube, readYaml("manifests/crds/gateway.kgateway.dev_gatewayparameters.yaml"))
  await kube.must("POST", pathOf(gatewayClass()), gatewayClass())
  const namespaces = Array.from({ length: size.gateways }, (_, g) => `ns-${g}`)
  await inBatches(namespaces, 32, (name) => kube.must("POST", "/api/v1/namespaces", { metadata: { name } }))
  await inBatches(namespaces.map((_, g) => gateway(g)), 32, (object) => kube.must("POST", pathOf(object), object))
  const services = Array.from({ length: size.services }, (_, s) => service(s, size))
  const start = Date.now()
  await inBatches(services, 64, (object) => kube.must("POST", pathOf(object), object))
  log(`created ${size.services} Services in ${((Date.now() - start) / 1000).toFixed(1)} s`)
}

export const kubeModePropagation = async (
  size: WorldSize,
  clientCounts: ReadonlyArray<number>,
  changes: number,
  log: (line: string) => void
): Promise<ReadonlyArray<{ readonly clients: number; readonly figures: PropagationFigures; readonly apiWatch: PropagationFigures }>> => {
  const cluster = await startCluster({ log })
  const kube = kubeClient(cluster)
  try {
    await populate(kube, size, log)
    const agentplane = await startAgentplane(["--kube", "--kubeconfig", cluster.kubeconfigPath])
    try {
      const results = []
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
          // The same writes seen by a plain watch: the API server's share of the latency.
          const watch = await watchServices(cluster)
          const sent: Array<{ namespace: string; name: string; port: number; startedAt: number }> = []
          const apply: Apply = async (index, variant) => {
            const port = 8000 + (variant % 1000)
            const startedAt = performance.now()
            await kube.must("PATCH", `/api/v1/namespaces/${namespaceOf(index, size)}/services/svc-${index}`, {
              spec: { ports: [{ name: "mcp", port, appProtocol: "kgateway.dev/mcp" }] }
            }, "application/merge-patch+json")
            sent.push({ namespace: namespaceOf(index, size), name: `svc-${index}`, port, startedAt })
            return { service: index, gateway: index % size.gateways, newName: `backend/${namespaceOf(index, size)}/svc-${index}:${port}`, startedAt }
          }
          const figures = await drive(clients, size, apply, changes)
          watch.stop()
          const watched = sent.map((s) => watch.arrival(s.namespace, s.name, s.port) === undefined ? undefined : watch.arrival(s.namespace, s.name, s.port)! - s.startedAt)
          const apiLatencies = watched.filter((l): l is number => l !== undefined)
          results.push({ clients: count, figures, apiWatch: propagationStats(apiLatencies, watched.length - apiLatencies.length) })
        } finally {
          closeClients(clients)
        }
      }
      return results
    } finally {
      await agentplane.stop()
    }
  } finally {
    await cluster.stop()
  }
}
