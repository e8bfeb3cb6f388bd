// agentplane as a user runs it: `node src/cli.ts serve` in its own process,
// on allocated loopback ports, serving a scenario's manifest directory.
import { fileURLToPath } from "node:url"
import { freePorts } from "./ports.ts"
import { startProcess, type ManagedProcess } from "./processes.ts"

/** The repository root, where `src/cli.ts` lives. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url))

export interface Agentplane {
  readonly process: ManagedProcess
  /** host:port, for grpc-js clients such as TestProxy. */
  readonly xdsAddress: string
  readonly xdsPort: number
  readonly adminUrl: string
  /** Where /debug/config_dump is served (--debug-address). */
  readonly debugUrl: string
  /** GET /debug/config_dump, parsed. Loosely typed: tests read it like a user reads the JSON. */
  readonly configDump: () => Promise<ConfigDumpJson>
  /** GET /metrics, as text. */
  readonly metrics: () => Promise<string>
}

export interface ConfigDumpJson {
  readonly gateways: ReadonlyArray<{
    readonly gateway: string
    readonly resources: ReadonlyArray<{ readonly name: string; readonly version: string; readonly resource: any }>
  }>
  readonly statuses: ReadonlyArray<{ readonly kind: string; readonly namespace?: string; readonly name: string; readonly status: any }>
  readonly problems: ReadonlyArray<{ readonly description: string }>
  readonly proxies?: ReadonlyArray<{
    readonly gateway: string
    readonly nodeId: string
    readonly peer: string
    readonly acknowledged: number
    readonly refused: ReadonlyArray<{ readonly name: string; readonly version: string; readonly message: string }>
  }>
}

/**
 * `node src/cli.ts serve <sourceArgs>` on free loopback ports, ready once /readyz answers 200 (the
 * first configuration is published; xDS serves nothing before). File and cluster mode differ only
 * in the source flags and the environment.
 */
export const startServe = async (name: string, sourceArgs: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Promise<Agentplane> => {
  const [xdsPort, adminPort, debugPort] = (await freePorts(3)) as [number, number, number]
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const debugUrl = `http://127.0.0.1:${debugPort}`
  const managed = await startProcess({
    name,
    command: process.execPath,
    args: [
      "src/cli.ts",
      "serve",
      ...sourceArgs,
      "--xds-address",
      `127.0.0.1:${xdsPort}`,
      "--admin-address",
      `127.0.0.1:${adminPort}`,
      "--debug-address",
      `127.0.0.1:${debugPort}`
    ],
    env,
    cwd: REPO_ROOT,
    ready: { http: `${adminUrl}/readyz` }
  })
  const get = async (path: string) => {
    const response = await fetch(`${path.startsWith("/debug/") ? debugUrl : adminUrl}${path}`)
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`)
    return response
  }
  return {
    process: managed,
    xdsAddress: `127.0.0.1:${xdsPort}`,
    xdsPort,
    adminUrl,
    debugUrl,
    configDump: async () => (await get("/debug/config_dump")).json() as Promise<ConfigDumpJson>,
    metrics: async () => (await get("/metrics")).text()
  }
}

/** `extraArgs`: more `serve` flags, e.g. `--jwks-max-refresh 2s`. */
export const startAgentplane = (manifestDir: string, extraArgs: ReadonlyArray<string> = []): Promise<Agentplane> =>
  startServe("agentplane", ["--from", manifestDir, ...extraArgs])

/** A condition of an object's status in a config dump, or undefined. */
export const conditionOf = (
  dump: ConfigDumpJson,
  object: { readonly kind: string; readonly namespace: string; readonly name: string },
  type: string
): { readonly status: string; readonly reason: string; readonly message: string } | undefined => {
  const status = dump.statuses.find((s) => s.kind === object.kind && s.name === object.name && (s.namespace ?? "") === object.namespace)
  return status?.status?.conditions?.find((c: { type: string }) => c.type === type)
}
