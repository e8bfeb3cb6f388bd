// Propagation: from a change (a file edit, or an API-server write) to the
// delta arriving at every xDS client of the affected gateway.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startAgentplane, type RunningAgentplane } from "./agentplane.ts"
import { awaitFirstSnapshots, awaitName, closeClients, connectClients, type BenchClient } from "./clients.ts"
import { quantile, sleep } from "./stats.ts"
import { fileOf, namespaceFileText, namespaceOf, writeWorld, type WorldSize } from "./world.ts"

export interface PropagationFigures {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly samples: number
  readonly lost: number
}

export interface Change {
  readonly service: number
  readonly gateway: number
  readonly newName: string
  /** When the change was made (the write itself, after any preparation). */
  readonly startedAt: number
}

/** Applies one change and returns what the affected clients must see. */
export type Apply = (service: number, variant: number) => Promise<Change>

const backendName = (service: number, size: WorldSize, variant: number) =>
  `backend/${namespaceOf(service, size)}/svc-${service}:${8000 + (variant % 1000)}`

export const figures = (latencies: ReadonlyArray<number>, lost: number): PropagationFigures => ({
  p50: quantile(latencies, 0.5),
  p99: quantile(latencies, 0.99),
  max: Math.max(...latencies),
  samples: latencies.length,
  lost
})

/**
 * `changes` edits, one after the other (`rate` undefined: each waits for its delta) or at a fixed
 * rate (churn). Changes rotate over the gateways that have clients.
 */
export const drive = async (
  clients: ReadonlyArray<BenchClient>,
  size: WorldSize,
  apply: Apply,
  changes: number,
  rate?: number
): Promise<PropagationFigures> => {
  const gatewaysWithClients = [...new Set(clients.map((c) => c.gateway))]
  const latencies: Array<number> = []
  const pending: Array<Promise<void>> = []
  let lost = 0
  for (let k = 0; k < changes; k++) {
    const gateway = gatewaysWithClients[k % gatewaysWithClients.length]!
    // The k-th Service of that gateway's namespace, so successive edits touch different Services.
    const service = gateway + size.gateways * (Math.floor(k / gatewaysWithClients.length) % Math.max(1, Math.floor(size.services / size.gateways)))
    const variant = k + 1
    const start = performance.now()
    const change = await apply(service, variant)
    const measured = awaitName(clients, change.gateway, change.newName, change.startedAt).then((at) => {
      if (at === undefined) lost += 1
      else latencies.push(at - change.startedAt)
    })
    if (rate === undefined) {
      await measured
      await sleep(5)
    } else {
      pending.push(measured)
      await sleep(Math.max(0, 1000 / rate - (performance.now() - start)))
    }
  }
  await Promise.all(pending)
  return figures(latencies, lost)
}

/** File mode: one YAML file per namespace; an edit rewrites one file. */
export const fileModePropagation = async (
  size: WorldSize,
  clientCount: number,
  changes: number,
  rate?: number
): Promise<PropagationFigures> => {
  const dir = mkdtempSync(join(tmpdir(), "agentplane-bench-"))
  let agentplane: RunningAgentplane | undefined
  let clients: Array<BenchClient> = []
  try {
    writeWorld(dir, size)
    agentplane = await startAgentplane(["--from", dir])
    clients = await connectClients(agentplane.xdsAddress, clientCount, size.gateways)
    await awaitFirstSnapshots(clients)
    const variants = new Map<number, number>()
    const apply: Apply = async (service, variant) => {
      const gateway = service % size.gateways
      variants.set(service, variant)
      const text = namespaceFileText(gateway, size, variants)
      const startedAt = performance.now()
      writeFileSync(fileOf(dir, gateway), text)
      return { service, gateway, newName: backendName(service, size, variant), startedAt }
    }
    return await drive(clients, size, apply, changes, rate)
  } finally {
    closeClients(clients)
    await agentplane?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
