// Child processes that cannot outlive the Node process that started them.
//
// Each child runs in its own process group (so helpers it forks die with it) and gets a
// watchdog: a one-line `sh` that blocks reading a pipe from us. When Node exits for any
// reason, even SIGKILL, the pipe closes and the watchdog kills the whole group (and can delete
// the process's data). While the child runs normally, the watchdog is never told anything.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process"
import type { Socket } from "node:net"

export interface Tracked {
  readonly child: ChildProcess
  readonly pid: number
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<string>
  /** Signals the group, escalates to SIGKILL after `graceMs`, waits for the exit. */
  readonly stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<void>
}

export interface SpawnOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  readonly stdio: StdioOptions
  /** A path the watchdog deletes after killing the group, if Node dies first. */
  readonly removeOnDeath?: string
}

const live = new Set<number>()
let exitHookInstalled = false

const killGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is already gone.
  }
}

// Kills on a normal exit right away, rather than waiting for the watchdogs to notice.
const installExitHook = (): void => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const pid of live) killGroup(pid, "SIGKILL")
  })
}

export function spawnTracked(command: string, args: ReadonlyArray<string>, options: SpawnOptions): Tracked {
  installExitHook()
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: options.stdio,
    detached: true
  })
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ?? String(code)))
    child.once("error", (error) => resolve(`spawn error: ${error.message}`))
  })
  const pid = child.pid
  if (pid === undefined) {
    return { child, pid: -1, exited, stop: async () => {} }
  }
  live.add(pid)

  const script = 'read -r _line; kill -9 "-$1" 2>/dev/null; [ -z "$2" ] || rm -rf -- "$2"'
  const watchdog = spawn("sh", ["-c", script, "kube-harness-watchdog", String(pid), options.removeOnDeath ?? ""], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true
  })
  // Neither the watchdog nor its pipe may keep the event loop alive.
  watchdog.unref()
  ;(watchdog.stdin as Socket | null)?.unref()

  void exited.then(() => {
    live.delete(pid)
    if (watchdog.pid !== undefined) killGroup(watchdog.pid, "SIGKILL")
  })

  const stop = async (signal: NodeJS.Signals = "SIGKILL", graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    // An unref'd child's exit would not keep Node alive long enough for us to see it.
    child.ref()
    killGroup(pid, signal)
    if (signal !== "SIGKILL") {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs)
      })
      await Promise.race([exited, timeout])
      clearTimeout(timer)
      killGroup(pid, "SIGKILL")
    }
    await exited
  }

  return { child, pid, exited, stop }
}
