// Propagation: from a change (a file edit, or an API-server write) to the
// delta arriving at every xDS client of the affected gateway.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { awaitQuiet, startAgentplane, type RunningAgentplane } from "./agentplane.ts"
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

const backendName = (service: number, size: WorldSize, variant: number) => `backend/${namespaceOf(service, size)}/svc-${service}:${8000 + (variant % 1000)}`

export const figures = (latencies: ReadonlyArray<number>, lost: number): PropagationFigures => ({
  p50: quantile(latencies, 0.5),
  p99: quantile(latencies, 0.99),
  max: Math.max(...latencies),
  samples: latencies.length,
  lost
})

/** Changes made and not counted first, so that JIT compilation and first-use costs (on both sides) are not sampled. */
export const WARMUP_CHANGES = 20

/**
 * `changes` edits after the warm-up ones, one after the other (`rate` undefined: each waits for
 * its delta) or at a fixed rate (churn). Changes rotate over the gateways that have clients.
 */
export const drive = async (
  clients: ReadonlyArray<BenchClient>,
  size: WorldSize,
  apply: Apply,
  changes: number,
  rate?: number,
  /** Variants (the ports written) start here: repeated runs against one cluster must not write a port a Service already has. */
  firstVariant = 1
): Promise<{ readonly figures: PropagationFigures; readonly samples: ReadonlyArray<number | undefined> }> => {
  const gatewaysWithClients = [...new Set(clients.map((c) => c.gateway))]
  /** Per counted change, in order: its latency, or undefined when it never arrived. */
  const samples: Array<number | undefined> = []
  const pending: Array<Promise<void>> = []
  for (let k = 0; k < WARMUP_CHANGES + changes; k++) {
    const counted = k >= WARMUP_CHANGES
    const gateway = gatewaysWithClients[k % gatewaysWithClients.length]!
    // The k-th Service of that gateway's namespace, so successive edits touch different Services.
    const service = gateway + size.gateways * (Math.floor(k / gatewaysWithClients.length) % Math.max(1, Math.floor(size.services / size.gateways)))
    const variant = firstVariant + k
    const start = performance.now()
    const change = await apply(service, variant)
    const slot = counted ? samples.push(undefined) - 1 : -1
    const measured = awaitName(clients, change.gateway, change.newName, change.startedAt).then((at) => {
      if (slot >= 0 && at !== undefined) samples[slot] = at - change.startedAt
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
  const latencies = samples.filter((latency): latency is number => latency !== undefined)
  return { figures: figures(latencies, samples.length - latencies.length), samples }
}

/** File mode: one YAML file per namespace; an edit rewrites one file. */
export const fileModePropagation = async (
  size: WorldSize,
  clientCount: number,
  changes: number,
  rate: number | undefined,
  log: (line: string) => void
): Promise<PropagationFigures> => {
  const dir = mkdtempSync(join(tmpdir(), "agentplane-bench-"))
  let agentplane: RunningAgentplane | undefined
  let clients: Array<BenchClient> = []
  try {
    writeWorld(dir, size)
    agentplane = await startAgentplane(["--from", dir])
    clients = await connectClients(agentplane.xdsAddress, clientCount, size.gateways)
    await awaitFirstSnapshots(clients)
    await awaitQuiet([agentplane.pid], log)
    const variants = new Map<number, number>()
    const apply: Apply = async (service, variant) => {
      const gateway = service % size.gateways
      variants.set(service, variant)
      const text = namespaceFileText(gateway, size, variants)
      const startedAt = performance.now()
      writeFileSync(fileOf(dir, gateway), text)
      return { service, gateway, newName: backendName(service, size, variant), startedAt }
    }
    return (await drive(clients, size, apply, changes, rate)).figures
  } finally {
    closeClients(clients)
    await agentplane?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
