// The agentplane command as a user runs it.
import { spawn, spawnSync } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { createServer } from "node:net"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parse as parseYaml } from "yaml"
import { ANY_PORTS } from "../support/serveProcess.ts"

const cli = (...args: Array<string>) => spawnSync(process.execPath, ["src/cli.ts", ...args], { encoding: "utf8" })
const cliWithInput = (input: string, ...args: Array<string>) => spawnSync(process.execPath, ["src/cli.ts", ...args], { encoding: "utf8", input })
const temp = mkdtempSync(join(tmpdir(), "agentplane-cli-"))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

describe("agentplane render", () => {
  it("prints the examples' configuration as JSON and exits 0", () => {
    const result = cli("render", "--from", "manifests/examples")
    expect(result.status, result.stderr).toBe(0)
    const output = JSON.parse(result.stdout)
    expect(output.gateways.map((g: any) => g.gateway)).toEqual(["default/a2a-gateway", "default/mcp-gateway", "quickstart/quickstart", "tools/tools-gateway"])
    const bind = output.gateways[1].resources.find((r: any) => r.name === "bind/8080/default/mcp-gateway")
    expect(bind.resource).toEqual({ bind: { key: "8080/default/mcp-gateway", port: 8080 } })
    expect(bind.version).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it("limits the output to one gateway, and refuses an unknown one with the known ones listed", () => {
    const one = cli("render", "--from", "manifests/examples", "--gateway", "tools/tools-gateway")
    expect(JSON.parse(one.stdout).gateways.map((g: any) => g.gateway)).toEqual(["tools/tools-gateway"])
    const unknown = cli("render", "--from", "manifests/examples", "--gateway", "tools/nope")
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain("programmed gateways: default/a2a-gateway, default/mcp-gateway, quickstart/quickstart, tools/tools-gateway")
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
    expect(output.gateways).toHaveLength(4)
    const status = output.statuses.find((s: any) => s.kind === "Gateway" && s.name === "broken")
    expect(status.status.conditions[0]).toMatchObject({ type: "Accepted", status: "False", reason: "Invalid" })
    expect(status.status.conditions[0].message).toContain("spec.listeners[0].name must be a lowercase RFC 1123 label")
    expect(result.stderr).toContain("broken.yaml (document 1): Gateway default/broken spec.listeners[0].name")
  })

  it("with --external-names deny, leaves out the quick start's ExternalName Services, naming each and its host", () => {
    const result = cli("render", "--from", "manifests/examples", "--gateway", "quickstart/quickstart", "--external-names", "deny")
    expect(result.status, result.stderr).toBe(0)
    const status = JSON.parse(result.stdout).statuses.find((s: any) => s.kind === "Gateway" && s.name === "quickstart").status
    expect(status.listeners[0].attachedRoutes).toBe(0)
    const resolved = status.listeners[0].conditions.find((c: any) => c.type === "ResolvedRefs")
    expect(resolved).toMatchObject({ status: "False", reason: "InvalidServices" })
    expect(resolved.message).toBe(
      `2 Services have spec.externalName "localhost" is refused: ExternalName targets are not allowed here (--external-names deny); use a Service with pods or endpoints in the cluster: quickstart/alpha, quickstart/beta`
    )
  })

  it("refuses a missing path as a usage error, in one line naming the path", () => {
    const result = cli("render", "--from", join(temp, "missing"))
    expect(result.status).toBe(2)
    expect(result.stderr).toBe(`agentplane: ${join(temp, "missing")}: no such file or directory; give a file or a directory of manifests\n`)
    expect(result.stdout).toBe("")
  })
})

describe("manifests as kubectl names them", () => {
  const gateways = (stdout: string) => JSON.parse(stdout).gateways.map((g: any) => g.gateway)
  const examples = ["manifests/examples/ep-11150.yaml", "manifests/examples/quickstart.yaml"]

  it("takes files and directories, positional or with -f/--from, repeated, and renders them together", () => {
    expect(gateways(cli("render", ...examples).stdout)).toEqual(["default/mcp-gateway", "quickstart/quickstart"])
    const flagged = cli("render", "-f", examples[0]!, "--from", examples[1]!)
    expect(flagged.status, flagged.stderr).toBe(0)
    expect(gateways(flagged.stdout)).toEqual(["default/mcp-gateway", "quickstart/quickstart"])
    const dir = join(temp, "more")
    cpSync("manifests/examples/a2a.yaml", join(dir, "nested", "a2a.yaml"), { recursive: true })
    const mixed = cli("render", examples[0]!, "-f", dir)
    expect(gateways(mixed.stdout)).toEqual(["default/a2a-gateway", "default/mcp-gateway"])
  })

  it("reads - from standard input, the same as the file it came from", () => {
    const text = readFileSync(examples[1]!, "utf8")
    const piped = cliWithInput(text, "render", examples[0]!, "-")
    expect(piped.status, piped.stderr).toBe(0)
    const fromFile = JSON.parse(cli("render", ...examples).stdout)
    expect(JSON.parse(piped.stdout).gateways).toEqual(fromFile.gateways)
    // Problems of standard input name it as such.
    const broken = cliWithInput(`${text}---\nkind: Service\n`, "render", examples[0]!, "-")
    expect(broken.status).toBe(1)
    expect(broken.stderr).toContain("agentplane: <stdin> (document 4): Service default/(unnamed) metadata Missing key")
    const twice = cliWithInput(text, "render", "-", "-f", "-")
    expect(twice.status).toBe(2)
    expect(twice.stderr).toBe("agentplane: - (standard input) is given more than once; give it once\n")
  })

  it("prints YAML with -o yaml, the same document as the JSON", () => {
    const yamlOut = cli("render", "manifests/examples", "-o", "yaml")
    expect(yamlOut.status, yamlOut.stderr).toBe(0)
    expect(parseYaml(yamlOut.stdout)).toEqual(JSON.parse(cli("render", "manifests/examples", "--output", "json").stdout))
    expect(usage("render", "manifests/examples", "-o", "xml").lines[0]).toContain(`Invalid value for flag --output: "xml"`)
  })

  it("limits statuses to the gateway asked for with --gateway", () => {
    const all = JSON.parse(cli("render", "manifests/examples").stdout)
    expect(all.statuses.filter((s: any) => s.kind === "Gateway")).toHaveLength(4)
    const one = JSON.parse(cli("render", "manifests/examples", "--gateway", "tools/tools-gateway").stdout)
    expect(one.statuses.map((s: any) => `${s.kind}/${s.namespace}/${s.name}`)).toEqual(["Gateway/tools/tools-gateway"])
  })

  it("serves - (standard input, read once) beside a watched file", async () => {
    const child = spawn(process.execPath, ["src/cli.ts", "serve", examples[0]!, "-", ...ANY_PORTS], {
      stdio: ["pipe", "pipe", "ignore"]
    })
    child.stdin.end(readFileSync(examples[1]!, "utf8"))
    let stdout = ""
    const serving = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not serving within 20 s: ${stdout}`)), 20_000)
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk
        if (stdout.includes("NAMESPACE=quickstart")) {
          clearTimeout(timer)
          resolve(stdout)
        }
      })
    })
    child.kill("SIGTERM")
    expect(serving).toContain("default/mcp-gateway:")
    expect(serving).toContain("quickstart/quickstart:")
  })

  it("names a Gateway whose GatewayClass no manifest defines", () => {
    const result = cli("render", examples[1]!)
    expect(result.status).toBe(1)
    expect(result.stderr).toContain(
      "agentplane: manifests/examples/quickstart.yaml: Gateway quickstart/quickstart spec.gatewayClassName names GatewayClass mcp, which no manifest defines"
    )
  })
})

describe("agentplane serve", () => {
  it("serves, prints the proxy environment per gateway, and shuts down cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, ["src/cli.ts", "serve", "--from", "manifests/examples", ...ANY_PORTS], { stdio: ["ignore", "pipe", "pipe"] })
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
      "serve",
      "--from",
      "manifests/examples",
      ...ANY_PORTS,
      "--xds-tls-cert",
      join(temp, "missing.crt"),
      "--xds-tls-key",
      join(temp, "missing.key")
    )
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(
      /agentplane: cannot use .*missing\.crt and .*missing\.key as the xDS TLS certificate and key.*; give a readable PEM certificate chain and its private key\n$/
    )
  })
})

/** The one line a usage error prints, and its exit code. */
const usage = (...args: Array<string>) => {
  const result = cli(...args)
  return { status: result.status, stdout: result.stdout, lines: result.stderr.trimEnd().split("\n") }
}

describe("errors on the command line", () => {
  it("a flag that does not parse is one line on stderr with what to run for help, exit code 2, and nothing on stdout", () => {
    for (const [args, says] of [
      [
        ["render"],
        "agentplane: no manifests given; name a file or directory of manifests (or - for standard input), e.g. agentplane render manifests/examples"
      ],
      [["render", "--from", "manifests/examples", "--bogus"], "Unrecognized flag: --bogus"],
      [["frobnicate"], `Unknown subcommand "frobnicate"`],
      [["--log-format", "yaml", "render", "--from", "manifests/examples"], `Invalid value for flag --log-format: "yaml"`]
    ] as const) {
      const result = usage(...args)
      expect({ args, status: result.status, stdout: result.stdout, lines: result.lines.length }).toEqual({ args, status: 2, stdout: "", lines: 1 })
      expect(result.lines[0]).toContain(says)
    }
  })

  it("a bad address, a missing path or a bad AGENTPLANE_LOG_FORMAT is refused before anything listens, naming the fix", () => {
    const cases = [
      {
        args: ["serve", "--from", "manifests/examples", "--xds-address", "nonsense"],
        says: `--xds-address "nonsense" is not HOST:PORT with a port from 0 to 65535; give e.g. --xds-address 127.0.0.1:9978`
      },
      { args: ["serve", "--from", "manifests/examples", "--admin-address", "127.0.0.1:99999"], says: `--admin-address "127.0.0.1:99999" is not HOST:PORT` },
      {
        args: ["serve", "--from", "manifests/examples", "--debug-address", "0.0.0.0"],
        says: `--debug-address "0.0.0.0" is not HOST:PORT with a port from 0 to 65535; give e.g. --debug-address 127.0.0.1:9093`
      },
      { args: ["serve", "--from", join(temp, "nowhere")], says: "no such file or directory; give a file or a directory of manifests" },
      { args: ["serve", join(temp, "nowhere")], says: "no such file or directory; give a file or a directory of manifests" },
      { args: ["serve", "manifests/examples", "--kube"], says: "manifests and --kube exclude each other" },
      {
        args: ["serve", "--from", "manifests/examples", "--external-names", "*foo"],
        says: `--external-names "*foo": "*foo" is neither a host nor a *.domain pattern; give allow, deny, or hosts and patterns separated by commas, e.g. localhost,*.example.com`
      },
      {
        args: ["render", "--from", "manifests/examples", "--external-names", "nope!"],
        says: `--external-names "nope!": "nope!" is neither a host nor a *.domain pattern`
      },
      {
        args: ["serve", "--from", "manifests/examples", "--jwks-max-refresh", "soon"],
        says: `--jwks-max-refresh "soon" is not a duration of at least 1s; give e.g. --jwks-max-refresh 30s (units h, m, s, ms: 1m30s)`
      },
      { args: ["serve", "--from", "manifests/examples", "--jwks-max-refresh", "500ms"], says: `--jwks-max-refresh "500ms" is not a duration of at least 1s` }
    ]
    for (const { args, says } of cases) {
      const result = usage(...args)
      expect({ args, status: result.status, lines: result.lines.length }).toEqual({ args, status: 2, lines: 1 })
      expect(result.lines[0]).toContain(says)
    }
    const env = spawnSync(process.execPath, ["src/cli.ts", "render", "--from", "manifests/examples"], {
      encoding: "utf8",
      env: { ...process.env, AGENTPLANE_LOG_FORMAT: "yaml" }
    })
    expect(env.status).toBe(2)
    expect(env.stderr).toBe(`agentplane: AGENTPLANE_LOG_FORMAT="yaml" is not a log format; set it to text or json\n`)
  })

  it("a port already in use is a runtime failure: one line naming the address and the fix, exit code 1", async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as { port: number }).port
    try {
      const result = await runUntilExit([
        "serve",
        "--from",
        "manifests/examples",
        "--xds-address",
        `127.0.0.1:${port}`,
        "--admin-address",
        "127.0.0.1:0",
        "--debug-address",
        "127.0.0.1:0"
      ])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(
        new RegExp(`^agentplane: cannot serve xDS on 127\\.0\\.0\\.1:${port}: .*; free the port or choose another with --xds-address$`, "m")
      )
    } finally {
      server.close()
    }
  })

  it("an admin or debug address this machine does not have is one line naming the flag and the fix, exit code 1", async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as { port: number }).port
    try {
      const base = ["serve", "--from", "manifests/examples", "--xds-address", "127.0.0.1:0"]
      for (const [args, line] of [
        [
          ["--admin-address", "256.1.1.1:9095", "--debug-address", "127.0.0.1:0"],
          /^agentplane: cannot serve the admin endpoints on 256\.1\.1\.1:9095: .*ENOTFOUND.*; give --admin-address an address of this machine, e\.g\. 127\.0\.0\.1:9095$/
        ],
        [
          ["--admin-address", "127.0.0.1:0", "--debug-address", "192.0.2.1:9093"],
          /^agentplane: cannot serve the debug endpoints on 192\.0\.2\.1:9093: .*EADDRNOTAVAIL.*; give --debug-address an address of this machine, e\.g\. 127\.0\.0\.1:9093$/
        ],
        [
          ["--admin-address", "127.0.0.1:0", "--debug-address", `127.0.0.1:${port}`],
          new RegExp(
            `^agentplane: cannot serve the debug endpoints on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*; free the port or choose another with --debug-address$`
          )
        ]
      ] as const) {
        const result = await runUntilExit([...base, ...args])
        const lines = result.stderr
          .trimEnd()
          .split("\n")
          .filter((l) => l.startsWith("agentplane: ") || !l.startsWith("{"))
        expect({ args, code: result.code, lines: lines.length }).toEqual({ args, code: 1, lines: 1 })
        expect(lines[0]).toMatch(line)
      }
    } finally {
      server.close()
    }
  })

  it("--help of every command shows examples", () => {
    for (const command of [[], ["render"], ["serve"]]) {
      const help = cli(...command, "--help")
      expect(help.status).toBe(0)
      expect(help.stdout).toContain("EXAMPLES")
      expect(help.stdout).toContain(`agentplane ${command[0] ?? "render"} manifests/examples`)
    }
  })
})

describe("--log-format", () => {
  /** The first log line `serve` writes (a pipe: JSON by default). */
  const firstLogLine = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
    const result = await runUntil(["serve", "--from", "manifests/examples", ...ANY_PORTS, ...args], env, (stderr) => stderr.includes("\n"))
    return result.stderr.split("\n")[0]!
  }

  it("is JSON through a pipe by default, logfmt with text, and JSON again with json over AGENTPLANE_LOG_FORMAT=text", async () => {
    expect(JSON.parse(await firstLogLine([])).message).toMatch(/listening/)
    expect(await firstLogLine(["--log-format", "text"])).toMatch(/^timestamp=\S+ level=INFO .*message="admin server listening/)
    expect(await firstLogLine([], { AGENTPLANE_LOG_FORMAT: "text" })).toMatch(/^timestamp=\S+ level=INFO /)
    expect(JSON.parse(await firstLogLine(["--log-format", "json"], { AGENTPLANE_LOG_FORMAT: "text" })).level).toBe("INFO")
  })
})

/** Runs the CLI until `done(stderr)` holds (then SIGTERM) or it exits by itself. */
const runUntil = (args: ReadonlyArray<string>, env: Record<string, string>, done: (stderr: string) => boolean) =>
  new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["src/cli.ts", ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } })
    let stderr = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no expected output within 20 s: ${stderr}`))
    }, 20_000)
    child.stderr.on("data", (chunk) => {
      stderr += chunk
      if (done(stderr)) child.kill("SIGTERM")
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })

const runUntilExit = (args: ReadonlyArray<string>) => runUntil(args, {}, () => false)
