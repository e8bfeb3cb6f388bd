// agentplane in Kubernetes mode as its own process (`serve --kube`), against the test harness's
// API server, on allocated loopback ports: the same Agentplane handle the file-mode scenarios use.
import { type Agentplane, startServe } from "./agentplane.ts"

export const startKubeAgentplaneProcess = (kubeconfig: string): Promise<Agentplane> =>
  startServe("agentplane --kube", ["--kube", "--kubeconfig", kubeconfig, "--leader-election-namespace", "default"], { POD_NAME: "agentplane-e2e" })
