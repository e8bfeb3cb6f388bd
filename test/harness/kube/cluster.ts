// A real, throwaway Kubernetes API server (etcd + kube-apiserver, no controller-manager, no
// nodes) on loopback, with the Gateway API CRDs installed. Built from source by ./build.ts.
import { closeSync, openSync } from "node:fs"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { get } from "node:http"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { stringify } from "yaml"
import { defaultLog, ensureBinaries } from "./build.ts"
import { writePki } from "./certs.ts"
import { installGatewayApiCrds } from "./crds.ts"
import { spawnTracked, type Tracked } from "./proc.ts"
import { kubeRequest, type KubeEndpoint } from "./request.ts"

export interface Cluster {
  readonly kubeconfigPath: string
  /** https://127.0.0.1:<port> */
  readonly server: string
  /** Bearer token of `admin` (group system:masters). */
  readonly token: string
  readonly caFile: string
  readonly dataDir: string
  /** Names of the installed Gateway API CRDs. */
  readonly crds: ReadonlyArray<string>
  readonly stop: () => Promise<void>
  /** Stops kube-apiserver (SIGTERM) and starts it again on the same port, against the same etcd. */
  readonly restartApiServer: () => Promise<void>
  /** Process ids of etcd and kube-apiserver as they run now (benchmarks read their CPU time). */
  readonly processIds: () => ReadonlyArray<number>
}

export interface ClusterOptions {
  readonly log?: (line: string) => void
  /** How long each of etcd and kube-apiserver may take to become ready. Default 120 s. */
  readonly readyTimeoutMs?: number
  /** Keep the temp dir (logs, etcd data) after stop(); also set by AGENTPLANE_KUBE_KEEP=1. */
  readonly keepDataDir?: boolean
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const log = options.log ?? defaultLog
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000
  const keep = options.keepDataDir ?? process.env["AGENTPLANE_KUBE_KEEP"] === "1"
  const binaries = await ensureBinaries({ log })

  const dataDir = await mkdtemp(path.join(tmpdir(), "agentplane-kube-"))

  let etcd: Tracked | undefined
  let api: Tracked | undefined
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // No graceful shutdown: all state is thrown away anyway.
    await Promise.all([api?.stop("SIGKILL"), etcd?.stop("SIGKILL")])
    if (keep) log(`kept cluster data and logs in ${dataDir}`)
    else await rm(dataDir, { recursive: true, force: true })
  }

  try {
    const pki = await writePki(path.join(dataDir, "pki"))
    const [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number]
    const etcdUrl = `http://127.0.0.1:${etcdPort}`
    const peerUrl = `http://127.0.0.1:${peerPort}`
    const server = `https://127.0.0.1:${apiPort}`
    const endpoint: KubeEndpoint = { server, ca: await readFile(pki.caFile, "utf8"), token: pki.token }

    const etcdLog = path.join(dataDir, "etcd.log")
    const etcdStarted = Date.now()
    etcd = startLogged(
      binaries.etcd,
      [
        "--name=default",
        `--data-dir=${path.join(dataDir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        // Must name the peer URL above, or etcd refuses to start (default is localhost:2380).
        `--initial-cluster=default=${peerUrl}`,
        // Test data is disposable: skipping fsync makes every write much cheaper.
        "--unsafe-no-fsync",
        "--log-level=warn"
      ],
      etcdLog,
      keep ? undefined : dataDir
    ) // if Node dies without stop(), etcd's watchdog deletes dataDir
    await waitUntil("etcd", etcd, etcdLog, readyTimeoutMs, async () => (await httpStatus(`${etcdUrl}/health`)) === 200)
    log(`etcd ready on ${etcdUrl} in ${Date.now() - etcdStarted} ms`)

    const apiLog = path.join(dataDir, "kube-apiserver.log")
    const apiArgs = [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.certFile}`,
      `--tls-private-key-file=${pki.keyFile}`,
      // Not required; lets tests also authenticate with client certificates signed by the CA.
      `--client-ca-file=${pki.caFile}`,
      `--token-auth-file=${pki.tokenFile}`,
      // The default is AlwaysAllow; RBAC makes permission mistakes show up in tests.
      "--authorization-mode=RBAC",
      // The three service-account flags are mandatory, even with no pods.
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      // Explicit, so ClusterIPs are predictable (default is 10.0.0.0/24, with a warning).
      "--service-cluster-ip-range=10.96.0.0/16",
      // Otherwise the `kubernetes` Service's endpoints get this host's interface address (the
      // bind address is loopback) and a lease loop rewrites them every 10 s: noise for tests.
      "--endpoint-reconciler-type=none",
      // No controller-manager creates `default` ServiceAccounts, which this plugin needs for pods.
      "--disable-admission-plugins=ServiceAccount"
    ]
    // Sets `api` before waiting, so that stop() also ends a server that never became ready.
    const startApi = async (): Promise<void> => {
      const started = Date.now()
      const proc = startLogged(binaries.kubeApiServer, apiArgs, apiLog)
      api = proc
      await waitUntil("kube-apiserver", proc, apiLog, readyTimeoutMs, async () => {
        const res = await kubeRequest(endpoint, "GET", "/readyz")
        return res.status === 200
      })
      log(`kube-apiserver ready at ${server} in ${Date.now() - started} ms`)
    }
    await startApi()

    const kubeconfigPath = path.join(dataDir, "kubeconfig")
    await writeFile(kubeconfigPath, kubeconfig(server, endpoint.ca, pki.token), { mode: 0o600 })

    const crdsStarted = Date.now()
    const crds = await installGatewayApiCrds(endpoint, binaries.gatewayApiCrdDir, readyTimeoutMs)
    log(`${crds.length} Gateway API CRDs established in ${Date.now() - crdsStarted} ms`)

    const restartApiServer = async (): Promise<void> => {
      if (stopped) throw new Error("cluster is stopped")
      await api?.stop("SIGTERM", 15_000)
      await waitPortFree(apiPort, 15_000)
      await startApi()
    }

    const processIds = (): ReadonlyArray<number> => [etcd?.pid, api?.pid].filter((pid): pid is number => pid !== undefined && pid > 0)
    return { kubeconfigPath, server, token: pki.token, caFile: pki.caFile, dataDir, crds, stop, restartApiServer, processIds }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Starts a server binary with stdout and stderr appended to `logFile`. */
function startLogged(binary: string, args: string[], logFile: string, removeOnDeath?: string): Tracked {
  const fd = openSync(logFile, "a")
  try {
    const proc = spawnTracked(binary, args, { stdio: ["ignore", fd, fd], ...(removeOnDeath === undefined ? {} : { removeOnDeath }) })
    // The servers run for the whole test file; they must not keep Node alive on their own.
    proc.child.unref()
    return proc
  } finally {
    closeSync(fd)
  }
}

async function waitUntil(name: string, proc: Tracked, logFile: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exit: string | undefined
  void proc.exited.then((code) => {
    exit = code
  })
  for (;;) {
    if (exit !== undefined) throw new Error(`${name} exited (${exit}) before becoming ready\n${await logTail(logFile)}`)
    if (await ready().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs} ms\n${await logTail(logFile)}`)
    await sleep(200)
  }
}

async function logTail(logFile: string, lines = 80): Promise<string> {
  const text = await readFile(logFile, "utf8").catch(() => "")
  return `--- last lines of ${logFile} ---\n${text.split("\n").slice(-lines).join("\n")}`
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: 5_000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on("timeout", () => req.destroy(new Error(`${url}: timed out`)))
    req.on("error", reject)
  })
}

/** Ports the OS hands out for port 0 are free right now; another process could still take one. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer())
  const ports = await Promise.all(
    servers.map(
      (s) =>
        new Promise<number>((resolve, reject) => {
          s.once("error", reject)
          s.listen(0, "127.0.0.1", () => {
            const address = s.address()
            resolve(typeof address === "object" && address !== null ? address.port : 0)
          })
        })
    )
  )
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

async function waitPortFree(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const inUse = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (!inUse) return
    if (Date.now() > deadline) throw new Error(`port ${port} still in use after ${timeoutMs} ms`)
    await sleep(100)
  }
}

function kubeconfig(server: string, ca: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "agentplane-test", cluster: { server, "certificate-authority-data": Buffer.from(ca).toString("base64") } }],
    users: [{ name: "admin", user: { token } }],
    contexts: [{ name: "agentplane-test", context: { cluster: "agentplane-test", user: "admin", namespace: "default" } }],
    "current-context": "agentplane-test"
  })
}
