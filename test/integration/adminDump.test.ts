// config_dump under load, against `agentplane serve` as its own process: 20 clients asking for
// the dump of a 2,000-Service world at once get one dump at a time (the others 429), memory stays
// near where it was, and /healthz keeps answering within the liveness probe's 1 s timeout.
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const SERVICES = 2000
const GATEWAYS = 4
const CLIENTS = 20

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

const dir = mkdtempSync(join(tmpdir(), "agentplane-dump-"))
let child: ChildProcess
let adminUrl: string
let debugUrl: string

const rssMB = () =>
  Number(
    readFileSync(`/proc/${child.pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"))!
      .split(/\s+/)[1]
  ) / 1024

beforeAll(async () => {
  const documents = [
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: mcp}\nspec: {controllerName: kgateway.dev/kgateway}\n",
    ...Array.from(
      { length: GATEWAYS },
      (_, g) =>
        `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw${g}, namespace: default}\nspec:\n  gatewayClassName: mcp\n  listeners:\n  - {name: mcp, port: ${8080 + g}, protocol: kgateway.dev/mcp, allowedRoutes: {namespaces: {from: All}}}\n`
    ),
    ...Array.from(
      { length: SERVICES },
      (_, i) =>
        `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${i}, namespace: ns-${i % 50}}\nspec:\n  ports:\n  - {name: mcp, port: 80, appProtocol: kgateway.dev/mcp}\n`
    )
  ]
  writeFileSync(join(dir, "world.yaml"), documents.join("---\n"))
  const [admin, debug] = [await freePort(), await freePort()]
  adminUrl = `http://127.0.0.1:${admin}`
  debugUrl = `http://127.0.0.1:${debug}`
  child = spawn(
    process.execPath,
    [
      "--max-semi-space-size=4",
      "src/cli.ts",
      "serve",
      "--from",
      dir,
      "--xds-address",
      "127.0.0.1:0",
      "--admin-address",
      `127.0.0.1:${admin}`,
      "--debug-address",
      `127.0.0.1:${debug}`,
      "--log-level",
      "warning"
    ],
    { stdio: "ignore" }
  )
  const deadline = Date.now() + 60_000
  while (
    !(await fetch(`${adminUrl}/readyz`).then(
      (r) => r.ok,
      () => false
    ))
  ) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("agentplane did not become ready")
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}, 90_000)

afterAll(() => {
  child?.kill("SIGTERM")
  rmSync(dir, { recursive: true, force: true })
})

describe("config_dump under load", () => {
  it(`gives ${CLIENTS} clients at once one dump at a time, keeps memory flat and /healthz under 1 s`, async () => {
    // Settle, then take the baseline.
    await (await fetch(`${debugUrl}/debug/config_dump`)).text()
    const before = rssMB()
    let peak = before
    let slowestHealth = 0
    let done = false
    const probing = (async () => {
      while (!done) {
        const started = performance.now()
        await (await fetch(`${adminUrl}/healthz`)).text()
        slowestHealth = Math.max(slowestHealth, performance.now() - started)
        peak = Math.max(peak, rssMB())
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    const answers = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const response = await fetch(`${debugUrl}/debug/config_dump`)
        return { status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.text() }
      })
    )
    done = true
    await probing

    const served = answers.filter((a) => a.status === 200)
    const refused = answers.filter((a) => a.status === 429)
    expect(served.length + refused.length).toBe(CLIENTS)
    expect(served.length).toBeGreaterThanOrEqual(1)
    // All asked at once; a dump takes far longer than the requests take to arrive.
    expect(refused.length).toBeGreaterThanOrEqual(CLIENTS / 2)
    expect(refused[0]).toMatchObject({ retryAfter: "1", body: "another config_dump is being written; try again when it is done\n" })
    for (const { body } of served) expect((JSON.parse(body) as { gateways: Array<unknown> }).gateways).toHaveLength(GATEWAYS)
    // Generous bounds; before, 20 whole dumps at once took hundreds of MB and /healthz several seconds.
    expect(peak - before, `RSS ${Math.round(before)} → ${Math.round(peak)} MB`).toBeLessThan(120)
    expect(slowestHealth, "slowest /healthz (ms)").toBeLessThan(1000)
  }, 120_000)
})
