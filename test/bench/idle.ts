// Idle cost: CPU and memory of `serve` holding a large configuration with
// connected proxies while nothing changes.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startAgentplane } from "./agentplane.ts"
import { awaitFirstSnapshots, closeClients, connectClients } from "./clients.ts"
import { sleep } from "./stats.ts"
import { writeWorld, type WorldSize } from "./world.ts"

export interface IdleFigures {
  readonly cpuPercent: number
  readonly rssMB: number
}

export const measureIdle = async (size: WorldSize, clientCount: number, seconds: number): Promise<IdleFigures> => {
  const dir = mkdtempSync(join(tmpdir(), "agentplane-bench-"))
  writeWorld(dir, size)
  const agentplane = await startAgentplane(["--from", dir])
  const clients = await connectClients(agentplane.xdsAddress, clientCount, size.gateways)
  try {
    await awaitFirstSnapshots(clients)
    await sleep(5000) // let start-up work and garbage collection settle
    const cpuStart = agentplane.cpuMs()
    const start = performance.now()
    await sleep(seconds * 1000)
    const cpu = agentplane.cpuMs() - cpuStart
    return { cpuPercent: (cpu / (performance.now() - start)) * 100, rssMB: agentplane.rssMB() }
  } finally {
    closeClients(clients)
    await agentplane.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
