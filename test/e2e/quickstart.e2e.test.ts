// The README's quick start, run as written: the lines of its `quickstart`
// block, one after the other, from the repository root, with a real
// agentgateway release as the `agentgateway` on PATH. The only things added
// are waits — for each background server to be ready, and for a command to
// succeed — which a person typing the lines gets for free.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { spawnSync } from "node:child_process"
import { afterAll, beforeAll, expect, it } from "vitest"
import { REPO_ROOT } from "./harness/agentplane.ts"
import { startProcess, stopAllProcesses, useProcesses, type ManagedProcess } from "./harness/processes.ts"
import { complaintsIn, describeThroughProxies, nacksOf } from "./harness/proxy.ts"
import { eventually, tcpAccepts, type Readiness } from "./harness/readiness.ts"

useProcesses()

const MARKER = "<!-- quickstart:"

/** The command lines of the README's quick start block, comments and blank lines left out. */
const quickStartLines = (): ReadonlyArray<string> => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8")
  const at = readme.indexOf(MARKER)
  if (at < 0) throw new Error(`README.md has no ${MARKER} … --> block`)
  const block = /```sh\n([\s\S]*?)\n```/.exec(readme.slice(at))
  if (block === null) throw new Error("the quickstart marker in README.md is not followed by a ```sh block")
  return block[1]!
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
}

/** What "ready" means for a background line, read off the line itself. */
const readinessOf = (line: string): Readiness => {
  const port = /^PORT=(\d+) /.exec(line)?.[1]
  if (port !== undefined) return { tcp: Number(port) }
  if (line === "npm start") return { http: "http://127.0.0.1:9095/readyz" }
  if (/\bagentgateway\b.*-f /.test(line)) return { http: "http://127.0.0.1:15021/healthz/ready" }
  throw new Error(`the quick start's background line ${JSON.stringify(line)} has no known readiness: teach quickstart.e2e.test.ts`)
}

/** The fixed ports the quick start uses: its servers, agentplane's defaults, the gateway, the proxy's defaults. */
const FIXED_PORTS = [3000, 3001, 3002, 9978, 9095, 9093, 15000, 15020, 15021]

const lines = quickStartLines()
/** Created by the quick start's `echo … > agentgateway.yaml`; removed afterwards unless it was there before. */
const proxyConfig = join(REPO_ROOT, "agentgateway.yaml")
const hadProxyConfig = existsSync(proxyConfig)
let binDir: string

beforeAll(() => {
  binDir = mkdtempSync(join(tmpdir(), "agentplane-quickstart-bin-"))
})

afterAll(async () => {
  await stopAllProcesses()
  if (!hadProxyConfig) rmSync(proxyConfig, { force: true })
  if (binDir !== undefined) rmSync(binDir, { recursive: true, force: true })
})

it("the README's quick start block is what this test runs", () => {
  expect(lines.filter((line) => line.endsWith(" &")).length).toBeGreaterThanOrEqual(3)
  expect(lines.at(-1)).toMatch(/^npm run --silent mcp -- http:\/\/127\.0\.0\.1:3000\/mcp \S+/)
})

describeThroughProxies("quick start", (release) => {
  const started: Array<ManagedProcess> = []
  const outputs: Array<string> = []

  beforeAll(async () => {
    // The previous release's processes may still be closing their ports: give them a few seconds.
    const deadline = Date.now() + 10_000
    for (const port of FIXED_PORTS) {
      while (await tcpAccepts(port)()) {
        if (Date.now() > deadline)
          throw new Error(`port ${port} is in use: the quick start needs it (stop your own npm start, MCP servers or agentgateway first)`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    symlinkSync(release.binary, join(binDir, "agentgateway"), "file")
  })

  afterAll(async () => {
    await Promise.all(started.map((process) => process.stop()))
    rmSync(join(binDir, "agentgateway"), { force: true })
  })

  const env = () => ({ PATH: `${binDir}${delimiter}${process.env["PATH"] ?? ""}` })

  it("every line runs as written and the last one calls a tool through the proxy", async () => {
    for (const [index, line] of lines.entries()) {
      if (line.endsWith(" &")) {
        const command = line.slice(0, -2)
        started.push(
          await startProcess({
            name: `quick start line ${index + 1}: ${command}`,
            command: "bash",
            args: ["-c", command],
            env: env(),
            cwd: REPO_ROOT,
            processGroup: true,
            ready: readinessOf(command),
            readyTimeoutMs: 60_000
          })
        )
        continue
      }
      // A foreground line may run before the proxy has its configuration: try again until it succeeds.
      const result = await eventually(
        async () => spawnSync("bash", ["-c", line], { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, ...env() }, timeout: 30_000 }),
        (run) => run.status === 0,
        { what: `quick start line ${index + 1} (${line}) to succeed`, timeoutMs: 30_000, intervalMs: 500 }
      )
      outputs.push(result.stdout)
    }
    const listing = outputs.at(-2)!.trim().split("\n")
    expect(listing).toEqual(expect.arrayContaining(["alpha.quickstart_echo", "beta.quickstart_echo"]))
    expect(
      listing.every((tool) => tool.startsWith("alpha.quickstart_") || tool.startsWith("beta.quickstart_")),
      listing.join()
    ).toBe(true)
    expect(outputs.at(-1)!.trim()).toBe("Echo: hello")
  }, 120_000)

  it("the proxy logged no warning or error, and refused nothing agentplane sent", async () => {
    const proxy = started.find((process) => process.spec.name.includes("agentgateway"))
    expect(proxy, "the quick start's proxy line ran").toBeDefined()
    expect(complaintsIn(proxy!.log())).toEqual([])
    const metrics = await (await fetch("http://127.0.0.1:9095/metrics")).text()
    expect(nacksOf(metrics, "quickstart/quickstart")).toBe(0)
  })
})
