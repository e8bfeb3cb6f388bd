// Builds a Go command-line tool (helm, kustomize) from the Go module proxy into a cache folder,
// once per version; later calls only read a stamp. Same scheme as ./kube/build.ts (lock
// directory, stamp, build-then-rename), for tools that `go install` can build.
import { access, constants, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { spawnTracked } from "./kube/proc.ts"

export interface GoTool {
  /** The binary's name, also the cache folder's: `~/.cache/agentplane/<name>/<version>`. */
  readonly name: string
  /** The module that holds the main package, e.g. `helm.sh/helm/v3`. */
  readonly module: string
  /** The main package, e.g. `helm.sh/helm/v3/cmd/helm`. */
  readonly pkg: string
  /** Changing it starts a new cache folder. */
  readonly version: string
  /** `-X` stamps and the like, beyond `-s -w`. */
  readonly ldflags?: ReadonlyArray<string>
  /** Environment variable that moves the cache (instead of `$XDG_CACHE_HOME/agentplane/<name>`). */
  readonly cacheEnv: string
  /** How long the first build takes, for the progress message. */
  readonly firstBuild: string
}

export interface EnsureOptions {
  readonly log?: (line: string) => void
}

type Log = (line: string) => void

const heartbeatMs = 30_000

const logFor =
  (tool: GoTool): Log =>
  (line) => {
    process.stderr.write(`[${tool.name}-harness] ${line}\n`)
  }

export const toolCacheDir = (tool: GoTool): string =>
  path.join(process.env[tool.cacheEnv] ?? path.join(process.env["XDG_CACHE_HOME"] ?? path.join(os.homedir(), ".cache"), "agentplane", tool.name), tool.version)

/** The path of the tool's binary, built on first use. */
export async function ensureGoTool(tool: GoTool, options: EnsureOptions = {}): Promise<string> {
  const log = options.log ?? logFor(tool)
  const dir = toolCacheDir(tool)
  const cached = await readStamp(tool, dir)
  if (cached !== undefined) return cached

  await mkdir(path.dirname(dir), { recursive: true })
  const release = await acquireLock(tool, `${dir}.lock`, log)
  try {
    // Another worker may have finished the build while we waited for the lock.
    return (await readStamp(tool, dir)) ?? (await build(tool, dir, log))
  } finally {
    await release()
  }
}

const binaryPath = (tool: GoTool, dir: string) => path.join(dir, "bin", tool.name)
const stampPath = (dir: string) => path.join(dir, "stamp.json")

const exists = (file: string, mode: number = constants.F_OK): Promise<boolean> =>
  access(file, mode).then(
    () => true,
    () => false
  )

async function readStamp(tool: GoTool, dir: string): Promise<string | undefined> {
  let stamp: { version?: unknown }
  try {
    stamp = JSON.parse(await readFile(stampPath(dir), "utf8"))
  } catch {
    return undefined
  }
  if (stamp.version !== tool.version) return undefined
  return (await exists(binaryPath(tool, dir), constants.X_OK)) ? binaryPath(tool, dir) : undefined
}

async function build(tool: GoTool, dir: string, log: Log): Promise<string> {
  const started = Date.now()
  const output = binaryPath(tool, dir)
  await mkdir(path.dirname(output), { recursive: true })
  const ldflags = `-ldflags=${["-s", "-w", ...(tool.ldflags ?? [])].join(" ")}`
  // go install writes into GOBIN: a private one per attempt, then a rename, so a half-built binary
  // is never picked up.
  const gobin = path.join(dir, `gobin-${process.pid}`)
  try {
    log(`building ${tool.name} ${tool.version} from the Go module proxy (first run only, ${tool.firstBuild})…`)
    try {
      await runGo(dir, ["install", "-v", "-trimpath", ldflags, `${tool.pkg}@${tool.version}`], { GOBIN: gobin }, `${tool.name}: go install`, log)
    } catch (error) {
      // `go install pkg@version` refuses modules with replace directives; a throwaway module that
      // requires the tool's module builds it anyway.
      log(`go install failed, retrying in a throwaway module: ${String(error).split("\n")[0]}`)
      await buildInModule(tool, dir, path.join(gobin, tool.name), ldflags, log)
    }
    await rename(path.join(gobin, tool.name), output)
  } finally {
    await rm(gobin, { recursive: true, force: true })
  }
  const ms = Date.now() - started
  const stamp = { name: tool.name, version: tool.version, builtAt: new Date().toISOString(), seconds: Math.round(ms / 1000) }
  await writeFile(stampPath(dir), `${JSON.stringify(stamp, null, 2)}\n`)
  log(`${tool.name} ${tool.version} ready in ${formatDuration(ms)} (cached in ${dir})`)
  return output
}

async function buildInModule(tool: GoTool, dir: string, output: string, ldflags: string, log: Log): Promise<void> {
  const moduleDir = path.join(dir, "src")
  await rm(moduleDir, { recursive: true, force: true })
  await mkdir(moduleDir, { recursive: true })
  await writeFile(path.join(moduleDir, "go.mod"), `module agentplane.local/${tool.name}-build\n\ngo 1.26.0\n\nrequire ${tool.module} ${tool.version}\n`)
  await runGo(moduleDir, ["get", `${tool.pkg}@${tool.version}`], {}, `${tool.name}: resolving modules`, log)
  await runGo(moduleDir, ["build", "-v", "-trimpath", ldflags, "-o", output, tool.pkg], {}, `${tool.name}: compiling`, log)
}

// Routine progress (`-v` package names, downloads) is counted for the heartbeat, not echoed.
const routine = /^(go: (downloading|added|upgraded|finding) |[\w.\-~]+(\/[\w.\-~+]+)*$)/

/** Runs `go` with a heartbeat every 30 s; throws with the output's tail. */
async function runGo(cwd: string, args: string[], extraEnv: Record<string, string>, label: string, log: Log): Promise<void> {
  // CGO off: a static binary, no C toolchain. GOWORK off: ignore any go.work above the cache.
  const env = { ...process.env, ...extraEnv, CGO_ENABLED: "0", GOWORK: "off" }
  const proc = spawnTracked("go", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
  const started = Date.now()
  const tail: string[] = []
  let done = 0
  let latest = ""
  let partial = ""
  proc.child.stdout?.resume()
  proc.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n")
    partial = lines.pop() ?? ""
    for (const line of lines) {
      tail.push(line)
      if (tail.length > 60) tail.shift()
      if (routine.test(line)) {
        done++
        latest = line
      } else {
        log(`  ${line}`)
      }
    }
  })
  const heartbeat = setInterval(() => {
    log(`${label}… ${formatDuration(Date.now() - started)} elapsed, ${done} packages done${latest ? `, latest: ${latest}` : ""}`)
  }, heartbeatMs)
  const result = await proc.exited.finally(() => clearInterval(heartbeat))
  if (partial) tail.push(partial)
  if (result !== "0") throw new Error(`go ${args.join(" ")} (in ${cwd}) failed: ${result}\n${tail.join("\n")}`)
  log(`${label}: done in ${formatDuration(Date.now() - started)}`)
}

/** A directory lock (`mkdir` is atomic); one whose owner process is gone is taken over. */
async function acquireLock(tool: GoTool, lockDir: string, log: Log): Promise<() => Promise<void>> {
  const ownerFile = path.join(lockDir, "owner")
  const started = Date.now()
  let lastNotice = 0
  for (;;) {
    try {
      await mkdir(lockDir)
      await writeFile(ownerFile, String(process.pid))
      return () => rm(lockDir, { recursive: true, force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    if (await lockIsStale(lockDir, ownerFile)) {
      log(`removing stale build lock ${lockDir}`)
      await rm(lockDir, { recursive: true, force: true })
      continue
    }
    if (Date.now() - lastNotice >= heartbeatMs) {
      lastNotice = Date.now()
      log(`waiting for another process to finish building ${tool.name} (${formatDuration(Date.now() - started)})…`)
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

async function lockIsStale(lockDir: string, ownerFile: string): Promise<boolean> {
  const owner = Number(await readFile(ownerFile, "utf8").catch(() => ""))
  if (!Number.isInteger(owner) || owner <= 0) {
    // The owner may be between mkdir and writing its pid; only an old, ownerless lock is stale.
    const info = await stat(lockDir).catch(() => undefined)
    return info !== undefined && Date.now() - info.mtimeMs > 10_000
  }
  try {
    process.kill(owner, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH"
  }
}

const formatDuration = (ms: number): string => {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
}

/** For `node test/harness/<tool>.ts`: builds (or finds) the tool and prints its path. */
export async function mainIfScript(moduleUrl: string, tool: GoTool): Promise<void> {
  if (process.argv[1] === undefined || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return
  const started = Date.now()
  const binary = await ensureGoTool(tool)
  process.stdout.write(`${JSON.stringify({ [tool.name]: binary, version: tool.version, ms: Date.now() - started }, null, 2)}\n`)
}
