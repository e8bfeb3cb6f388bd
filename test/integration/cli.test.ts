// The agentplane command as a user runs it.
import { spawn, spawnSync } from "node:child_process"
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const cli = (...args: Array<string>) => spawnSync(process.execPath, ["src/cli.ts", ...args], { encoding: "utf8" })
const temp = mkdtempSync(join(tmpdir(), "agentplane-cli-"))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

describe("agentplane render", () => {
  it("prints the examples' configuration as JSON and exits 0", () => {
    const result = cli("render", "--from", "manifests/examples")
    expect(result.status, result.stderr).toBe(0)
    const output = JSON.parse(result.stdout)
    expect(output.gateways.map((g: any) => g.gateway)).toEqual(["default/a2a-gateway", "default/mcp-gateway", "tools/tools-gateway"])
    const bind = output.gateways[1].resources.find((r: any) => r.name === "bind/8080/default/mcp-gateway")
    expect(bind.resource).toEqual({ bind: { key: "8080/default/mcp-gateway", port: 8080 } })
    expect(bind.version).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it("limits the output to one gateway, and refuses an unknown one with the known ones listed", () => {
    const one = cli("render", "--from", "manifests/examples", "--gateway", "tools/tools-gateway")
    expect(JSON.parse(one.stdout).gateways.map((g: any) => g.gateway)).toEqual(["tools/tools-gateway"])
    const unknown = cli("render", "--from", "manifests/examples", "--gateway", "tools/nope")
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain("programmed gateways: default/a2a-gateway, default/mcp-gateway, tools/tools-gateway")
  })

  it("prints the rest of the configuration when one object is invalid, names it, and exits 1", () => {
    const dir = join(temp, "invalid")
    cpSync("manifests/examples", dir, { recursive: true })
    writeFileSync(
      join(dir, "broken.yaml"),
      "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: broken\n  namespace: default\nspec:\n  gatewayClassName: mcp\n  listeners:\n  - name: Bad_Name\n    port: 8080\n    protocol: kgateway.dev/mcp\n"
    )
    const result = cli("render", "--from", dir)
    expect(result.status).toBe(1)
    const output = JSON.parse(result.stdout)
    expect(output.gateways).toHaveLength(3)
    const status = output.statuses.find((s: any) => s.kind === "Gateway" && s.name === "broken")
    expect(status.status.conditions[0]).toMatchObject({ type: "Accepted", status: "False", reason: "Invalid" })
    expect(status.status.conditions[0].message).toContain("spec.listeners[0].name must be a lowercase RFC 1123 label")
    expect(result.stderr).toContain("broken.yaml (document 1): Gateway default/broken spec.listeners[0].name")
  })

  it("fails readably on a missing directory", () => {
    const result = cli("render", "--from", join(temp, "missing"))
    expect(result.status).not.toBe(0)
    expect(result.stderr).toContain("cannot read manifests from")
    expect(result.stdout).toBe("")
  })
})

describe("agentplane serve", () => {
  it("serves, prints the proxy environment per gateway, and shuts down cleanly on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      ["src/cli.ts", "serve", "--from", "manifests/examples", "--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0"],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    const deadline = Date.now() + 20_000
    while (!stdout.includes("tools/tools-gateway") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(stdout).toMatch(/XDS_ADDRESS=http:\/\/127\.0\.0\.1:\d+ GATEWAY=mcp-gateway NAMESPACE=default LOCALITY=local/)
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    child.kill("SIGTERM")
    const code = await exited
    expect(stderr).toContain("xDS server listening")
    expect(code).toBe(0)
  })

  it("refuses half a TLS configuration and an unusable certificate, readably", () => {
    const half = cli("serve", "--from", "manifests/examples", "--xds-tls-cert", "cert.pem")
    expect(half.status).toBe(2)
    expect(half.stderr).toContain("--xds-tls-cert and --xds-tls-key go together")
    const missing = cli(
      "serve", "--from", "manifests/examples", "--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0",
      "--xds-tls-cert", join(temp, "missing.crt"), "--xds-tls-key", join(temp, "missing.key")
    )
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(/agentplane: cannot serve xDS on 127\.0\.0\.1:0: cannot use .*missing\.crt and .*missing\.key as the xDS TLS certificate and key/)
  })
})
