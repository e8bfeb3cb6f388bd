// agentplane in Kubernetes mode inside the test process, against the
// harness API server, as the integration tests run it: ports chosen by the
// system, a short leader lease, and a teardown that tolerates a failed start.
import { Effect, Layer, Logger, ManagedRuntime } from "effect"
import { AdminServer } from "../../src/admin/server.ts"
import { kubeServeLayer } from "../../src/main.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import type { StreamLimits } from "../../src/xds/limits.ts"
import { XdsServer } from "../../src/xds/server.ts"
import type { Cluster } from "../harness/kube/cluster.ts"
import type { TestProxy } from "./xdsClient.ts"

export interface KubeAgentplane {
  readonly runtime: ManagedRuntime.ManagedRuntime<XdsServer | AdminServer, unknown>
  readonly xdsAddress: string
  readonly adminUrl: string
  /** Where /debug/config_dump is served. */
  readonly debugUrl: string
}

export interface KubeAgentplaneOptions {
  /** This instance's identity in leader election. */
  readonly identity: string
  /** Where managed proxies are told to find agentplane. */
  readonly managedXdsAddress?: string
  /** Also receives every log line. */
  readonly logger?: Logger.Logger<unknown, unknown>
  /** xDS stream timings other than the defaults. */
  readonly xdsStreamLimits?: Partial<StreamLimits>
}

export const startKubeAgentplane = async (cluster: Cluster, options: KubeAgentplaneOptions): Promise<KubeAgentplane> => {
  const layer = kubeServeLayer({
    ...defaultTranslateOptions,
    kubeconfig: cluster.kubeconfigPath,
    xdsAddress: "127.0.0.1:0",
    adminAddress: "127.0.0.1:0",
    debugAddress: "127.0.0.1:0",
    managedXds: { address: options.managedXdsAddress ?? "agentplane.agentplane-system.svc:9978", tls: false },
    leaderElection: { namespace: "default", name: "agentplane", identity: options.identity, leaseDurationSeconds: 4 },
    ...(options.xdsStreamLimits === undefined ? {} : { xdsStreamLimits: options.xdsStreamLimits })
  })
  const runtime = ManagedRuntime.make(
    options.logger === undefined ? layer : layer.pipe(Layer.provide(Logger.layer([options.logger], { mergeWithExisting: true })))
  )
  const ports = await runtime.runPromise(
    Effect.gen(function* () {
      const admin = yield* AdminServer
      return { xds: (yield* XdsServer).port, admin: admin.port, debug: admin.debugPort }
    })
  )
  return {
    runtime,
    xdsAddress: `127.0.0.1:${ports.xds}`,
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    debugUrl: `http://127.0.0.1:${ports.debug}`
  }
}

/** Closes the proxies, then agentplane, then the cluster; any of them may not have started. */
export const tearDown = async (proxies: ReadonlyArray<TestProxy>, agentplane: KubeAgentplane | undefined, cluster: Cluster | undefined) => {
  for (const proxy of proxies) proxy.close()
  await agentplane?.runtime.dispose()
  await cluster?.stop()
}
