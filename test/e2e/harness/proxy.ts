// The real agentgateway proxy: one per scenario and release, on ports of its
// own, so scenario files run side by side. Its log is read for what it says
// about agentplane's configuration: a warning or error line fails the proxy
// half (strict interop), unless the scenario expects that very line.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import type { Agentplane } from "./agentplane.ts"
import { freePorts } from "./ports.ts"
import { startProcess, type ManagedProcess } from "./processes.ts"
import { PROXY_FEATURES, PROXY_RELEASES, releaseHas, type ProxyFeature, type ProxyRelease } from "./proxyReleases.ts"

export interface RunningProxy {
  readonly release: ProxyRelease
  readonly process: ManagedProcess
  /** From spawn to the readiness endpoint answering 200, in ms. */
  readonly readyAfterMs: number
  readonly adminUrl: string
  readonly readyUrl: string
  /** Lines the proxy logged at level warn or error so far. */
  readonly complaints: () => ReadonlyArray<string>
  readonly stop: () => Promise<void>
}

export interface ProxyOptions {
  readonly release: ProxyRelease
  readonly xdsPort: number
  readonly gateway: string
  readonly namespace: string
  /** More environment, e.g. `XDS_AUTH_TOKEN` for an agentplane that authenticates proxies. */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * agentgateway's text log: `<time>\t<level>\t<target>\t<message>\t<fields>`. A
 * record can span lines (the configuration it prints at start), so only lines
 * that start with a timestamp carry a level.
 */
const LOG_RECORD = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z\t(\w+)\t([\w:]+)[^\t]*\t([^\t]*)/

/**
 * Warnings about a request's traffic rather than about configuration, which
 * the scenarios cause on purpose: they are not counted. Matched by the
 * logging target and the start of the message; nothing from the xDS client
 * or the configuration state is ever on this list.
 */
const TRAFFIC_WARNINGS: ReadonlyArray<{ readonly target: string; readonly message: string; readonly why: string }> = [
  {
    target: "mcp::mergestream",
    message: "upstream stream ended unexpectedly",
    why: "an upstream ends its part of a federated session's stream (the stateless test server refuses GET streams; a session-ful one closes its stream when the client ends the session); the proxy skips it, as failureMode FailOpen says"
  },
  {
    target: "proxy::gateway",
    message: "proxy error: connection error",
    why: "a test client closed its connection while a response stream was open (the MCP SDK closing an SSE stream)"
  }
]

const isTrafficWarning = (target: string, message: string): boolean =>
  TRAFFIC_WARNINGS.some((allowed) => target === allowed.target && message.startsWith(allowed.message))

/** Warning and error lines of an agentgateway log, less the traffic warnings above. */
export const complaintsIn = (log: string): Array<string> =>
  log.split("\n").filter((line) => {
    const record = LOG_RECORD.exec(line)
    if (record === null) return false
    const [, level, target, message] = record as unknown as [string, string, string, string]
    return (level === "warn" || level === "error") && !isTrafficWarning(target, message)
  })

/**
 * Starts `<release binary> -f <config: {}>` for one Gateway on free loopback
 * ports and waits until it reports ready.
 */
export const startProxy = async (options: ProxyOptions): Promise<RunningProxy> => {
  const [adminPort, statsPort, readinessPort] = (await freePorts(3)) as [number, number, number]
  const dir = mkdtempSync(join(tmpdir(), "agentplane-e2e-proxy-"))
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const readyUrl = `http://127.0.0.1:${readinessPort}/healthz/ready`
  try {
    const config = join(dir, "agentgateway.yaml")
    // Everything comes over xDS; the file only has to exist.
    writeFileSync(config, "config: {}\n")
    const started = Date.now()
    const managed = await startProcess({
      name: `agentgateway ${options.release.version} ${options.namespace}/${options.gateway}`,
      command: options.release.binary,
      args: ["-f", config],
      env: {
        XDS_ADDRESS: `http://127.0.0.1:${options.xdsPort}`,
        GATEWAY: options.gateway,
        NAMESPACE: options.namespace,
        ADMIN_ADDR: `127.0.0.1:${adminPort}`,
        STATS_ADDR: `127.0.0.1:${statsPort}`,
        READINESS_ADDR: `127.0.0.1:${readinessPort}`,
        // The readiness trap: with POD_NAME set and no LOCALITY the proxy waits
        // for a Workload about itself that agentplane never sends.
        LOCALITY: "local",
        POD_NAME: undefined,
        ...options.env
      },
      ready: { http: readyUrl },
      readyTimeoutMs: 30_000
    })
    const readyAfterMs = Date.now() - started
    return {
      release: options.release,
      process: managed,
      readyAfterMs,
      adminUrl,
      readyUrl,
      complaints: () => complaintsIn(managed.log()),
      stop: async () => {
        await managed.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/** Stands in for a release inside the skipped block declared when none is found. */
const NO_RELEASE: ProxyRelease = { version: "none", binary: "" }

/**
 * Declares a scenario's proxy half once per release found. Without any, one
 * skipped block stands in, so the suite lists what it did not run.
 */
export const describeThroughProxies = (scenario: string, body: (release: ProxyRelease) => void): void => {
  if (PROXY_RELEASES.length === 0) {
    describe.skip(`${scenario}: through agentgateway (no agentgateway binary found)`, () => body(NO_RELEASE))
    return
  }
  for (const release of PROXY_RELEASES) describe(`${scenario}: through agentgateway ${release.version}`, () => body(release))
}

/** `it`, or a skip saying why, for a test of a behaviour that not every release has. */
export const itWhereReleaseHas = (release: ProxyRelease, feature: ProxyFeature) =>
  release === NO_RELEASE || releaseHas(release, feature)
    ? it
    : (name: string, fn: () => Promise<void>) =>
        it.skip(`${name} (skipped: agentgateway ${release.version} lacks ${PROXY_FEATURES[feature].what}, first in ${PROXY_FEATURES[feature].since})`, fn)

export interface StrictInterop {
  readonly proxy: () => RunningProxy | undefined
  readonly agentplane: () => Agentplane
  /** `NAMESPACE/NAME` of the proxy's Gateway, as agentplane labels its metrics. */
  readonly gateway: string
}

export const nacksOf = (metrics: string, gateway: string): number =>
  metrics
    .split("\n")
    .filter((line) => line.startsWith("agentplane_xds_nacks_total{") && line.includes(`gateway="${gateway}"`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0)

/** What agentplane logs when a proxy refuses a resource or accepts it with a warning. */
const REFUSAL_LOG = /proxy refused|with a warning/

/**
 * Strict interop for a proxy half: call it first in the half (it notes where
 * agentplane's log stands before the proxy starts) and call the returned
 * `itHeldStrictly` last. That test fails when the proxy logged a warning or
 * error, when agentplane counted a NACK from the Gateway's proxies, or when
 * agentplane logged a refusal or warning since the proxy started.
 */
export const useStrictInterop = (check: StrictInterop): { readonly itHeldStrictly: () => void } => {
  let logBefore = 0
  beforeAll(() => {
    logBefore = check.agentplane().process.log().length
  })
  return {
    itHeldStrictly: () =>
      it("the proxy logged no warning or error, and refused nothing agentplane sent", async () => {
        const proxy = check.proxy()
        expect(proxy, "the proxy of this half started").toBeDefined()
        expect(proxy!.complaints()).toEqual([])
        const agentplane = check.agentplane()
        expect(nacksOf(await agentplane.metrics(), check.gateway)).toBe(0)
        expect(
          agentplane.process
            .log()
            .slice(logBefore)
            .split("\n")
            .filter((line) => REFUSAL_LOG.test(line))
        ).toEqual([])
        expect(proxy!.process.exit).toBeUndefined()
      })
  }
}
