// What `serve` reads from its environment: whether it runs in a cluster, and
// the pod's name and namespace that the Deployment passes through the
// downward API. Read through Effect's Config, so a test provides its own.
import { Config, Effect, Option } from "effect"

export interface ServeEnvironment {
  /** `KUBERNETES_SERVICE_HOST` or `KUBECONFIG` is set: with no manifests named, serve the cluster. */
  readonly inCluster: boolean
  readonly podName: string | undefined
  readonly podNamespace: string | undefined
}

const optional = (name: string) => Config.option(Config.String(name)).pipe(Config.map(Option.getOrUndefined))

export const serveEnvironment: Effect.Effect<ServeEnvironment> = Config.all({
  serviceHost: optional("KUBERNETES_SERVICE_HOST"),
  kubeconfig: optional("KUBECONFIG"),
  podName: optional("POD_NAME"),
  podNamespace: optional("POD_NAMESPACE")
}).pipe(
  Effect.map(({ kubeconfig, podName, podNamespace, serviceHost }) => ({
    inCluster: serviceHost !== undefined || kubeconfig !== undefined,
    podName,
    podNamespace
  })),
  // Reading a plain string can only fail for a malformed provider; the process environment is not one.
  Effect.orDie
)
