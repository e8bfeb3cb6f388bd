// Builds kube-apiserver and etcd from the Go module proxy into a cache folder, once per version
// set, and locates the Gateway API CRDs in the Go module cache. Later calls only read a stamp.
import { access, constants, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { spawnTracked } from "./proc.ts"

// The newest releases whose go.mod accepts the local Go 1.26 (gateway-api v1.7.0 needs go 1.27).
// etcd 3.6 is what Kubernetes 1.37 is tested against. Changing a version starts a new cache folder.
export const versions = {
  kubernetes: "v1.37.2",
  etcd: "v3.6.16",
  gatewayApi: "v1.6.3"
} as const

export interface Binaries {
  readonly kubeApiServer: string
  readonly etcd: string
  readonly gatewayApiCrdDir: string
}

export interface EnsureOptions {
  readonly log?: (line: string) => void
}

type Log = (line: string) => void

const heartbeatMs = 30_000

export const defaultLog: Log = (line) => {
  process.stderr.write(`[kube-harness] ${line}\n`)
}

/**
 * `$AGENTPLANE_KUBE_CACHE` (default `~/.cache/agentplane/kube`, outside the checkout so that every
 * clone on a machine shares one build) plus a folder named for the versions.
 */
export const cacheDir = (): string =>
  path.join(
    process.env["AGENTPLANE_KUBE_CACHE"] ?? path.join(process.env["XDG_CACHE_HOME"] ?? path.join(os.homedir(), ".cache"), "agentplane", "kube"),
    `k8s-${versions.kubernetes}_etcd-${versions.etcd}_gwapi-${versions.gatewayApi}`
  )

export async function ensureBinaries(options: EnsureOptions = {}): Promise<Binaries> {
  const log = options.log ?? defaultLog
  const dir = cacheDir()
  const cached = await readStamp(dir)
  if (cached !== undefined) return cached

  await mkdir(path.dirname(dir), { recursive: true })
  const release = await acquireLock(`${dir}.lock`, log)
  try {
    // Another worker may have finished the build while we waited for the lock.
    return (await readStamp(dir)) ?? (await buildAll(dir, log))
  } finally {
    await release()
  }
}

const paths = (dir: string) => ({
  stamp: path.join(dir, "stamp.json"),
  kubeApiServer: path.join(dir, "bin", "kube-apiserver"),
  etcd: path.join(dir, "bin", "etcd")
})

const exists = (file: string, mode: number = constants.F_OK): Promise<boolean> =>
  access(file, mode).then(
    () => true,
    () => false
  )

async function readStamp(dir: string): Promise<Binaries | undefined> {
  const p = paths(dir)
  let stamp: { versions?: unknown; gatewayApiCrdDir?: unknown }
  try {
    stamp = JSON.parse(await readFile(p.stamp, "utf8"))
  } catch {
    return undefined
  }
  if (JSON.stringify(stamp.versions) !== JSON.stringify(versions)) return undefined
  if (typeof stamp.gatewayApiCrdDir !== "string") return undefined
  const ok = await Promise.all([exists(p.kubeApiServer, constants.X_OK), exists(p.etcd, constants.X_OK), exists(stamp.gatewayApiCrdDir)])
  if (ok.includes(false)) return undefined
  return { kubeApiServer: p.kubeApiServer, etcd: p.etcd, gatewayApiCrdDir: stamp.gatewayApiCrdDir }
}

async function buildAll(dir: string, log: Log): Promise<Binaries> {
  const p = paths(dir)
  const started = Date.now()
  await mkdir(path.join(dir, "bin"), { recursive: true })

  log(`downloading sigs.k8s.io/gateway-api ${versions.gatewayApi} (Gateway API CRDs)…`)
  const gateway = await goModDownload(dir, `sigs.k8s.io/gateway-api@${versions.gatewayApi}`, log)
  const gatewayApiCrdDir = path.join(gateway.Dir, "config", "crd", "standard")

  // A binary only lands in bin/ by a rename after a successful build, so one found there (from an
  // interrupted earlier run) is complete and needs no rebuild.
  if (!(await exists(p.etcd, constants.X_OK))) {
    log(`building etcd ${versions.etcd} (first run only, takes a few minutes)…`)
    await buildEtcd(dir, p.etcd, log)
  }
  if (!(await exists(p.kubeApiServer, constants.X_OK))) {
    log(`building kube-apiserver ${versions.kubernetes} (first run only, takes 10 to 15 minutes on 2 cores)…`)
    await buildKubeApiServer(dir, p.kubeApiServer, log)
  }

  const seconds = Math.round((Date.now() - started) / 1000)
  await writeFile(p.stamp, `${JSON.stringify({ versions, gatewayApiCrdDir, builtAt: new Date().toISOString(), seconds }, null, 2)}\n`)
  log(`kube binaries ready in ${formatDuration(Date.now() - started)} (cached in ${dir})`)
  return { kubeApiServer: p.kubeApiServer, etcd: p.etcd, gatewayApiCrdDir }
}

async function buildEtcd(dir: string, output: string, log: Log): Promise<void> {
  const moduleDir = path.join(dir, "src", "etcd")
  await writeGoMod(moduleDir, "agentplane.local/etcd-build", "1.26.0", [], [])
  await runGo(moduleDir, ["get", `go.etcd.io/etcd/server/v3@${versions.etcd}`], "etcd: resolving modules", log)
  // From 3.5 on, the etcd main package is the root of the server module.
  await goBuild(moduleDir, output, "go.etcd.io/etcd/server/v3", [], "etcd: compiling", log)
}

async function buildKubeApiServer(dir: string, output: string, log: Log): Promise<void> {
  const k8s = await goModDownload(dir, `k8s.io/kubernetes@${versions.kubernetes}`, log)
  const upstreamGoMod = await readFile(path.join(k8s.Dir, "go.mod"), "utf8")
  // k8s.io/kubernetes points its staging modules (k8s.io/api, …) at ./staging/… and requires
  // them as v0.0.0; pin each to its published v0.x.y release so the module resolves from the proxy.
  const staging = [...upstreamGoMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)].map((m) => m[1] ?? "")
  if (staging.length === 0) throw new Error(`no staging replace directives found in ${k8s.Dir}/go.mod`)
  const stagingVersion = versions.kubernetes.replace(/^v1\./, "v0.")
  const goVersion = /^go\s+(\S+)/m.exec(upstreamGoMod)?.[1] ?? "1.26.0"

  const moduleDir = path.join(dir, "src", "kube-apiserver")
  await writeGoMod(
    moduleDir,
    "agentplane.local/kube-apiserver-build",
    goVersion,
    [`k8s.io/kubernetes ${versions.kubernetes}`],
    staging.map((m) => `${m} => ${m} ${stagingVersion}`)
  )
  await runGo(moduleDir, ["get", `k8s.io/kubernetes/cmd/kube-apiserver@${versions.kubernetes}`], "kube-apiserver: resolving modules", log)

  // What the upstream Makefile stamps, so /version reports the real release.
  const [major, minor] = versions.kubernetes.slice(1).split(".")
  const pkg = "k8s.io/component-base/version"
  const stamp = [
    `-X ${pkg}.gitVersion=${versions.kubernetes}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.buildDate=${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`
  ]
  await goBuild(moduleDir, output, "k8s.io/kubernetes/cmd/kube-apiserver", stamp, "kube-apiserver: compiling", log)
}

async function writeGoMod(moduleDir: string, name: string, goVersion: string, requires: string[], replaces: string[]): Promise<void> {
  await mkdir(moduleDir, { recursive: true })
  await rm(path.join(moduleDir, "go.sum"), { force: true })
  const block = (keyword: string, lines: string[]) => (lines.length === 0 ? "" : `\n${keyword} (\n${lines.map((l) => `\t${l}\n`).join("")})\n`)
  await writeFile(path.join(moduleDir, "go.mod"), `module ${name}\n\ngo ${goVersion}\n${block("require", requires)}${block("replace", replaces)}`)
}

async function goBuild(moduleDir: string, output: string, pkg: string, ldflags: string[], label: string, log: Log): Promise<void> {
  // Build next to the target, then rename, so a half-written binary is never picked up.
  const temporary = `${output}.tmp-${process.pid}`
  const args = ["build", "-v", "-trimpath", `-ldflags=${["-s", "-w", ...ldflags].join(" ")}`, "-o", temporary, pkg]
  // `-v` names each package as it is compiled; the dependency count turns that into progress.
  const total = (await runGo(moduleDir, ["list", "-deps", pkg], `${label}: listing packages`, log)).trim().split("\n").length
  try {
    await runGo(moduleDir, args, label, log, `of ${total} packages`)
    await rename(temporary, output)
  } finally {
    await rm(temporary, { force: true })
  }
}

async function goModDownload(dir: string, moduleAtVersion: string, log: Log): Promise<{ Dir: string }> {
  const out = await runGo(dir, ["mod", "download", "-json", moduleAtVersion], `go mod download ${moduleAtVersion}`, log)
  const info = JSON.parse(out) as { Dir?: string; Error?: string }
  if (info.Dir === undefined) throw new Error(`go mod download ${moduleAtVersion}: ${info.Error ?? out}`)
  return { Dir: info.Dir }
}

// Lines go prints for routine progress (`-v` package names, module downloads): counted for the
// heartbeat, not echoed. Anything else (warnings, errors) is passed through.
const routine = /^(go: (downloading|added|upgraded|finding) |[\w.\-~]+(\/[\w.\-~+]+)*$)/

/** Runs `go`, logging a heartbeat every 30 s; returns stdout, throws with the output's tail. */
async function runGo(cwd: string, args: string[], label: string, log: Log, unit = "steps"): Promise<string> {
  // CGO off: static binaries, no C toolchain needed. GOWORK off: ignore any go.work above the cache.
  const env = { ...process.env, CGO_ENABLED: "0", GOWORK: "off" }
  const proc = spawnTracked("go", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
  const started = Date.now()
  const tail: string[] = []
  let stdout = ""
  let routineLines = 0
  let latest = ""

  proc.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
  })
  let partial = ""
  proc.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n")
    partial = lines.pop() ?? ""
    for (const line of lines) {
      tail.push(line)
      if (tail.length > 60) tail.shift()
      if (routine.test(line)) {
        routineLines++
        latest = line
      } else {
        log(`  ${line}`)
      }
    }
  })
  const heartbeat = setInterval(() => {
    log(`${label}… ${formatDuration(Date.now() - started)} elapsed, ${routineLines} ${unit} done${latest ? `, latest: ${latest}` : ""}`)
  }, heartbeatMs)

  const result = await proc.exited.finally(() => clearInterval(heartbeat))
  if (partial) tail.push(partial)
  if (result !== "0") {
    throw new Error(`go ${args.join(" ")} (in ${cwd}) failed: ${result}\n${tail.join("\n")}\n${stdout.slice(-4000)}`)
  }
  if (Date.now() - started > heartbeatMs) log(`${label}: done in ${formatDuration(Date.now() - started)}`)
  return stdout
}

/** A directory lock: `mkdir` is atomic. A lock whose owner process is gone is taken over. */
async function acquireLock(lockDir: string, log: Log): Promise<() => Promise<void>> {
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
      log(`waiting for another process to finish building the kube binaries (${formatDuration(Date.now() - started)})…`)
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

// `node test/harness/kube/build.ts` builds (or finds) the binaries and prints their paths.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now()
  const binaries = await ensureBinaries()
  process.stdout.write(`${JSON.stringify({ ...binaries, ms: Date.now() - started }, null, 2)}\n`)
}
