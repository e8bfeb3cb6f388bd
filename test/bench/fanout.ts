// Fan-out: many proxies connecting at once. Time until every one of them
// holds its gateway's full configuration, and server memory per stream.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startAgentplane } from "./agentplane.ts"
import { awaitFirstSnapshots, closeClients, connectClients } from "./clients.ts"
import { sleep } from "./stats.ts"
import { writeWorld, type WorldSize } from "./world.ts"

export interface FanoutFigures {
  readonly allReadyMs: number
  readonly rssPerStreamKB: number
}

export const measureFanout = async (size: WorldSize, streams: number): Promise<FanoutFigures> => {
  const dir = mkdtempSync(join(tmpdir(), "agentplane-bench-"))
  writeWorld(dir, size)
  const agentplane = await startAgentplane(["--from", dir])
  try {
    await sleep(1000)
    const rssBefore = agentplane.rssMB()
    const start = performance.now()
    const clients = await connectClients(agentplane.xdsAddress, streams, size.gateways)
    try {
      const last = await awaitFirstSnapshots(clients)
      await sleep(1000)
      return { allReadyMs: last - start, rssPerStreamKB: ((agentplane.rssMB() - rssBefore) * 1024) / streams }
    } finally {
      closeClients(clients)
    }
  } finally {
    await agentplane.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
