// Child processes of a scenario: spawned, logged, waited for, and always
// stopped. Every process started here is registered until it has exited, so
// `stopAllProcesses` (afterAll) and the `exit` hook below can reach it even
// when a test threw half-way; a leaked peer would hold its port and make the
// next run fail for reasons that have nothing to do with it.
import { spawn, type ChildProcess } from "node:child_process"
import { afterAll, beforeEach, onTestFailed } from "vitest"
import { describeReadiness, probeOf, waitFor, type Readiness } from "./readiness.ts"

export interface ProcessSpec {
  /** Short name used in logs, e.g. "agentplane" or "peer own-mcp". */
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Added to (or, with undefined values, removed from) the inherited environment. */
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly cwd?: string
  readonly ready: Readiness
  readonly readyTimeoutMs?: number
  /**
   * Run in a process group of its own and signal the whole group: for a shell
   * line such as `npm start`, whose real server is a grandchild.
   */
  readonly processGroup?: boolean
}

/** Keep the tail of long logs: the end is where a failure shows. */
const LOG_LIMIT = 256 * 1024

export class ManagedProcess {
  readonly spec: ProcessSpec
  readonly child: ChildProcess
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined
  private output = ""

  constructor(spec: ProcessSpec) {
    this.spec = spec
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries({ ...process.env, ...spec.env })) if (value !== undefined) env[key] = value
    this.child = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: spec.processGroup === true })
    this.child.stdout!.on("data", (chunk: Buffer) => this.append(chunk))
    this.child.stderr!.on("data", (chunk: Buffer) => this.append(chunk))
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal }
        resolve(this.exit)
      })
      // A command that cannot be spawned at all (ENOENT) never emits "exit".
      this.child.once("error", (error) => {
        this.append(Buffer.from(`spawn failed: ${error.message}\n`))
        if (this.exit === undefined) {
          this.exit = { code: null, signal: null }
          resolve(this.exit)
        }
      })
    })
  }

  private append(chunk: Buffer) {
    this.output += chunk.toString("utf8")
    if (this.output.length > LOG_LIMIT) this.output = `…(earlier output dropped)\n${this.output.slice(-LOG_LIMIT)}`
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** Everything the process wrote to stdout and stderr so far. */
  log(): string {
    return this.output
  }

  describe(): string {
    const state = this.exit === undefined ? `pid ${this.pid}, running` : `exited with ${this.exit.code ?? this.exit.signal}`
    return `${this.spec.name} (${state}): ${this.spec.command} ${this.spec.args.join(" ")}`
  }

  /** Sends `signal` to the process, or to its whole group when it has one. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid
    if (pid === undefined) return
    try {
      if (this.spec.processGroup === true) process.kill(-pid, signal)
      else this.child.kill(signal)
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, then SIGKILL once `graceMs` passed; resolves when the process is gone. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.exit !== undefined || this.child.pid === undefined) {
      // The group's leader may have exited before its children did.
      if (this.spec.processGroup === true) this.signal("SIGKILL")
      return
    }
    this.signal("SIGTERM")
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs)
    await this.exited
    clearTimeout(timer)
    if (this.spec.processGroup === true) this.signal("SIGKILL")
  }
}

/** Not yet exited: what cleanup must stop. */
const running = new Set<ManagedProcess>()
/** Every process started, for the logs printed when a test fails. */
const started: Array<ManagedProcess> = []

/** Starts a process and waits until it is ready; on failure it is stopped and the error carries its log. */
export const startProcess = async (spec: ProcessSpec): Promise<ManagedProcess> => {
  const managed = new ManagedProcess(spec)
  running.add(managed)
  started.push(managed)
  void managed.exited.then(() => running.delete(managed))
  try {
    await waitFor(probeOf(spec.ready), {
      what: `${spec.name} waiting for ${describeReadiness(spec.ready)}`,
      timeoutMs: spec.readyTimeoutMs ?? 20_000,
      gaveUp: () => (managed.exit === undefined ? undefined : `the process exited (${managed.exit.code ?? managed.exit.signal})`)
    })
  } catch (error) {
    await managed.stop()
    throw new Error(`${(error as Error).message}\n${formatLog(managed)}`)
  }
  return managed
}

export const runningProcesses = (): ReadonlyArray<ManagedProcess> => [...running]

export const stopAllProcesses = async (): Promise<void> => {
  await Promise.all([...running].map((managed) => managed.stop()))
}

const formatLog = (managed: ManagedProcess): string => {
  const log = managed.log().trimEnd()
  return `----- ${managed.describe()} -----\n${log === "" ? "(no output)" : log}\n----- end of ${managed.spec.name} -----`
}

export const formatAllLogs = (processes: Iterable<ManagedProcess>): string => [...processes].map(formatLog).join("\n")

// Last resort when the worker exits without running afterAll (crash,
// process.exit in a library): exit handlers must be synchronous, so SIGKILL.
process.once("exit", () => {
  for (const managed of running) if (managed.exit === undefined) managed.signal("SIGKILL")
})

/**
 * Call once at the top of a scenario file: prints the log of every process
 * the file started when a test fails (exited ones too: a crashed peer's last
 * words are often the answer), and stops them all after the file. Vitest
 * isolates test files, so this module's state is the file's.
 */
export const useProcesses = (): void => {
  beforeEach(() => {
    onTestFailed(() => {
      console.error(`logs of this scenario's processes:\n${formatAllLogs(started)}`)
    })
  })
  afterAll(stopAllProcesses)
}
