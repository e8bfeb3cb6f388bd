// agentplane as its own process for the benchmarks, so that its CPU and
// memory are its own and the clients' work is not counted against it.
import { spawn, type ChildProcess } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { sleep } from "./stats.ts"

export interface RunningAgentplane {
  readonly xdsAddress: string
  readonly adminUrl: string
  readonly pid: number
  readonly log: () => string
  /** utime + stime in milliseconds, from /proc. */
  readonly cpuMs: () => number
  /** Resident set size in MB, from /proc. */
  readonly rssMB: () => number
  readonly stop: () => Promise<void>
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const CLOCK_TICKS_PER_SECOND = 100

/** utime + stime of a process in milliseconds, from /proc (0 once it is gone). */
export const cpuMsOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1000
  } catch {
    return 0
  }
}

/**
 * Waits until the processes together use under 5 % of a core over a second (start-up work,
 * status writes and garbage collection done), so that measurements sample steady state.
 */
export const awaitQuiet = async (pids: ReadonlyArray<number>, log: (line: string) => void, timeoutMs = 120_000) => {
  const total = () => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const before = total()
    await sleep(1000)
    const used = total() - before
    if (used < 50) return
    if (Date.now() > deadline) {
      log(`still busy after ${timeoutMs / 1000} s (${used} ms CPU in the last second); measuring anyway`)
      return
    }
    log(`waiting for quiet: ${used} ms CPU in the last second`)
  }
}

/** The Node flags agentplane runs with (package.json scripts, the bin's shebang, the Dockerfile). */
const NODE_FLAGS = (process.env["BENCH_NODE_FLAGS"] ?? "--max-semi-space-size=4").split(" ").filter((flag) => flag !== "")

export const startAgentplane = async (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<RunningAgentplane> => {
  const xdsPort = await freePort()
  const adminPort = await freePort()
  const debugPort = await freePort()
  let output = ""
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      "src/cli.ts",
      "serve",
      ...args,
      "--xds-address",
      `127.0.0.1:${xdsPort}`,
      "--admin-address",
      `127.0.0.1:${adminPort}`,
      "--debug-address",
      `127.0.0.1:${debugPort}`,
      "--log-level",
      "warn"
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } }
  )
  child.stdout!.on("data", (chunk) => (output = (output + chunk).slice(-20_000)))
  child.stderr!.on("data", (chunk) => (output = (output + chunk).slice(-20_000)))
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const deadline = Date.now() + 300_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agentplane exited (${child.exitCode}):\n${output}`)
    const ready = await fetch(`${adminUrl}/readyz`).then(
      (r) => r.ok,
      () => false
    )
    if (ready) break
    if (Date.now() > deadline) throw new Error(`agentplane not ready:\n${output}`)
    await sleep(100)
  }
  const pid = child.pid!
  return {
    xdsAddress: `127.0.0.1:${xdsPort}`,
    adminUrl,
    pid,
    log: () => output,
    cpuMs: () => cpuMsOf(pid),
    rssMB: () => {
      const line = readFileSync(`/proc/${pid}/status`, "utf8")
        .split("\n")
        .find((l) => l.startsWith("VmRSS:"))!
      return Number(line.replace(/\D+/g, "")) / 1024
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await Promise.race([exited, sleep(5000)])
      child.kill("SIGKILL")
    }
  }
}
