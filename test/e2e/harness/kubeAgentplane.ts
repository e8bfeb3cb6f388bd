// agentplane in Kubernetes mode as its own process (`serve --kube`), against the test harness's
// API server, on allocated loopback ports: the same Agentplane handle the file-mode scenarios use.
import type { Agentplane, ConfigDumpJson } from "./agentplane.ts"
import { REPO_ROOT } from "./agentplane.ts"
import { freePorts } from "./ports.ts"
import { startProcess } from "./processes.ts"

export const startKubeAgentplaneProcess = async (kubeconfig: string): Promise<Agentplane> => {
  const [xdsPort, adminPort, debugPort] = (await freePorts(3)) as [number, number, number]
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const debugUrl = `http://127.0.0.1:${debugPort}`
  const managed = await startProcess({
    name: "agentplane --kube",
    command: process.execPath,
    args: [
      "src/cli.ts",
      "serve",
      "--kube",
      "--kubeconfig",
      kubeconfig,
      "--leader-election-namespace",
      "default",
      "--xds-address",
      `127.0.0.1:${xdsPort}`,
      "--admin-address",
      `127.0.0.1:${adminPort}`,
      "--debug-address",
      `127.0.0.1:${debugPort}`
    ],
    env: { POD_NAME: "agentplane-e2e" },
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
