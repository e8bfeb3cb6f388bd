// The real agentgateway proxy, when the environment names one with
// AGENTGATEWAY_BIN. Without it the proxy halves of the scenarios are skipped
// and say so.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { acquireLock, type Lock } from "./lock.ts"
import { startProcess, type ManagedProcess } from "./processes.ts"
import { tcpAccepts } from "./readiness.ts"

const configured = process.env["AGENTGATEWAY_BIN"]
/** Path of the agentgateway binary, or undefined when the proxy halves are skipped. */
export const AGENTGATEWAY_BIN: string | undefined = configured === undefined || configured === "" ? undefined : configured

/** For test names: `it.skipIf(!AGENTGATEWAY_BIN)(\`… ${NEEDS_PROXY}\`)`. */
export const NEEDS_PROXY = "(needs AGENTGATEWAY_BIN)"

/** Prints, once per scenario file, why its proxy half does not run. */
export const announceProxySkip = (scenario: string): void => {
  if (AGENTGATEWAY_BIN === undefined) {
    console.log(`[e2e ${scenario}] proxy half skipped: set AGENTGATEWAY_BIN to an agentgateway binary to run it`)
  }
}

/** The proxy's fixed ports (agentgateway defaults). */
export const PROXY_ADMIN_URL = "http://127.0.0.1:15000"
export const PROXY_READY_URL = "http://127.0.0.1:15021/healthz/ready"
const FIXED_PORTS = [15000, 15020, 15021]

const LOCK_PATH = join(tmpdir(), "agentplane-e2e-agentgateway.lock")

export interface Proxy {
  readonly process: ManagedProcess
  /** From spawn to the readiness endpoint answering 200, in ms. */
  readonly readyAfterMs: number
  readonly stop: () => Promise<void>
}

export interface ProxyOptions {
  readonly xdsPort: number
  readonly gateway: string
  readonly namespace: string
}

/**
 * Starts `$AGENTGATEWAY_BIN -f <config: {}>` for one Gateway and waits until
 * it reports ready. Holds the machine-wide proxy lock until `stop`.
 */
export const startProxy = async (options: ProxyOptions): Promise<Proxy> => {
  const binary = AGENTGATEWAY_BIN
  if (binary === undefined) throw new Error("startProxy needs AGENTGATEWAY_BIN")
  const lock: Lock = await acquireLock(LOCK_PATH, { what: "waiting for another scenario's agentgateway to stop", timeoutMs: 150_000 })
  const dir = mkdtempSync(join(tmpdir(), "agentplane-e2e-proxy-"))
  const cleanUp = () => {
    rmSync(dir, { recursive: true, force: true })
    lock.release()
  }
  try {
    for (const port of FIXED_PORTS) {
      if (await tcpAccepts(port)()) {
        throw new Error(`port ${port} is already in use: another agentgateway (or something else) runs outside this suite; stop it first`)
      }
    }
    const config = join(dir, "agentgateway.yaml")
    // Everything comes over xDS; the file only has to exist.
    writeFileSync(config, "config: {}\n")
    const started = Date.now()
    const managed = await startProcess({
      name: `agentgateway ${options.namespace}/${options.gateway}`,
      command: binary,
      args: ["-f", config],
      env: {
        XDS_ADDRESS: `http://127.0.0.1:${options.xdsPort}`,
        GATEWAY: options.gateway,
        NAMESPACE: options.namespace,
        // The readiness trap: with POD_NAME set and no LOCALITY the proxy waits
        // for a Workload about itself that agentplane never sends.
        LOCALITY: "local",
        POD_NAME: undefined
      },
      ready: { http: PROXY_READY_URL },
      readyTimeoutMs: 30_000
    })
    const readyAfterMs = Date.now() - started
    return {
      process: managed,
      readyAfterMs,
      stop: async () => {
        await managed.stop()
        cleanUp()
      }
    }
  } catch (error) {
    cleanUp()
    throw error
  }
}
