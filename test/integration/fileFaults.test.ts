// Faults injected into the watched directories of a running `serve`: FIFOs,
// device files, alias bombs, symbolic links to directories, the directory
// removed, renamed and replaced. Throughout, /healthz answers within 100 ms,
// later edits are still served, memory stays bounded, and SIGTERM still ends it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ANY_PORTS, listenerUrl } from "../support/serveProcess.ts"

/** The bound the liveness probe of the Deployment allows with room to spare (its timeout is 1 s). */
const HEALTHZ_BOUND_MS = 100
/** RSS the process may reach while under attack; it starts near 150 MiB. */
const RSS_BOUND_BYTES = 400 * 1024 * 1024

const root = mkdtempSync(join(tmpdir(), "agentplane-faults-"))
const dir = join(root, "manifests")
const outside = join(root, "outside")
let child: ChildProcess
let admin = ""
let debug = ""
let stderr = ""
const slowProbes: Array<number> = []
let probing = true
let probes = 0
/** When the probe in flight started: one that never comes back is as bad as a slow one. */
let probeInFlightSince: number | undefined

const gateway = (name: string) =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  gatewayClassName: mcp\n  listeners:\n  - name: mcp\n    port: 8080\n    protocol: kgateway.dev/mcp\n`

const dump = async (): Promise<any> => (await fetch(`${debug}/debug/config_dump`)).json()

const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agentplane said:\n${stderr.slice(-3000)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Writes a Gateway into `file` and waits until it is served: the proof that edits still get through. */
const served = async (file: string, name: string) => {
  await writeFile(file, gateway(name))
  await until(`gateway ${name} from ${file}`, async () => (await dump()).gateways.some((g: any) => g.gateway === `default/${name}`) || undefined)
}

const problems = async (): Promise<Array<string>> => (await dump()).problems.map((p: any) => p.description)

const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) * 1024

beforeAll(async () => {
  mkdirSync(outside)
  cpSync("manifests/examples", dir, { recursive: true })
  child = spawn(process.execPath, ["src/cli.ts", "serve", dir, ...ANY_PORTS], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  admin = await until("the admin address", async () => listenerUrl(stderr, "admin"))
  debug = await until("the debug address", async () => listenerUrl(stderr, "debug"))
  await until("ready", async () => (await fetch(`${admin}/readyz`)).ok || undefined)
  // Liveness, probed throughout every fault below.
  void (async () => {
    while (probing) {
      const started = performance.now()
      probeInFlightSince = started
      const answer = await fetch(`${admin}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)
      const took = performance.now() - started
      probeInFlightSince = undefined
      probes++
      if (answer?.status !== 200 || took > HEALTHZ_BOUND_MS) slowProbes.push(Math.round(took))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
}, 60_000)

afterAll(() => {
  probing = false
  child?.kill("SIGKILL")
  rmSync(root, { recursive: true, force: true })
})

describe("serve under injected file faults", () => {
  it("reports a FIFO at a manifest name and keeps serving edits", async () => {
    execFileSync("mkfifo", [join(dir, "pipe.yaml")])
    await served(join(dir, "probe.yaml"), "after-fifo")
    expect(await problems()).toContainEqual(expect.stringContaining("pipe.yaml: is a named pipe (FIFO), not a regular file"))
  })

  it("reports a link to /dev/zero without reading it, and memory stays bounded", async () => {
    symlinkSync("/dev/zero", join(dir, "zero.yaml"))
    await served(join(dir, "probe.yaml"), "after-zero")
    expect(await problems()).toContainEqual(expect.stringContaining("zero.yaml: is a character device, not a regular file"))
    expect(rss()).toBeLessThan(RSS_BOUND_BYTES)
  })

  it("reports an alias bomb on its document and serves the rest", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for (let level = 1; level < 9; level++) {
      levels.push(
        `${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + level)}`)
          .join(", ")}]`
      )
    }
    await writeFile(join(dir, "bomb.yaml"), `${levels.join("\n")}\n`)
    await served(join(dir, "probe.yaml"), "after-bomb")
    expect(await problems()).toContainEqual(expect.stringContaining("bomb.yaml (document 1): is not valid YAML: aliases expand more than 100 times"))
    expect(rss()).toBeLessThan(RSS_BOUND_BYTES)
  })

  it("follows a symbolic link to a directory, in edits and full reads alike", async () => {
    await writeFile(join(outside, "linked.yaml"), gateway("linked-one"))
    symlinkSync(outside, join(dir, "shared"))
    await until("the linked directory's gateway", async () => (await dump()).gateways.some((g: any) => g.gateway === "default/linked-one") || undefined)
    await served(join(outside, "linked.yaml"), "linked-two")
    // A new directory makes the next read a full one: the linked file must still be there after it.
    mkdirSync(join(dir, "later"))
    await served(join(dir, "later", "probe.yaml"), "after-full-read")
    expect((await dump()).gateways.map((g: any) => g.gateway)).toContain("default/linked-two")
  })

  it("keeps serving edits after the directory is removed and made again", async () => {
    const saved = join(root, "saved")
    cpSync(dir, saved, { recursive: true, dereference: false })
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir)
    cpSync(saved, dir, { recursive: true })
    await served(join(dir, "probe.yaml"), "after-replace")
  })

  it("is not ready while the directory is renamed away, keeps what it served, and is ready again once it is back", async () => {
    renameSync(dir, `${dir}.old`)
    const unready = await until("/readyz to say the manifests are gone", async () => {
      const answer = await fetch(`${admin}/readyz`)
      return answer.status === 503 ? await answer.text() : undefined
    })
    expect(unready).toContain("gone; serving what was last read from them")
    expect((await dump()).gateways.map((g: any) => g.gateway)).toContain("default/after-replace")
    renameSync(`${dir}.old`, dir)
    await until("ready again", async () => (await fetch(`${admin}/readyz`)).ok || undefined)
    await served(join(dir, "probe.yaml"), "after-rename")
  })

  it("answered /healthz within the bound throughout, and ends at once on SIGTERM", async () => {
    // The prober ran throughout (every 20 ms plus the answer's time), and none is stuck now.
    expect(probes).toBeGreaterThan(5)
    expect(probeInFlightSince === undefined || performance.now() - probeInFlightSince < HEALTHZ_BOUND_MS).toBe(true)
    expect(slowProbes, `probes slower than ${HEALTHZ_BOUND_MS} ms (ms)`).toEqual([])
    expect(rss()).toBeLessThan(RSS_BOUND_BYTES)
    probing = false
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    child.kill("SIGTERM")
    const code = await Promise.race([exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 5000))])
    expect(code).toBe(0)
  })
})
