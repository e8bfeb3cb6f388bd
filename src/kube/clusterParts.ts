// Kubernetes mode's parts: the informer source in; status, Events and managed
// proxies out (written by the leader only); remote JWKS, stored by the leader
// for every replica; TokenReview authentication of xDS streams; the API
// client they share. `main.ts` composes them, and loads
// this module only when serving a cluster, so that file mode does not carry
// the Kubernetes client.
import { Layer } from "effect"
import { Deployer } from "./deployer.ts"
import { EventRecorder } from "./events.ts"
import { jwksStore } from "./jwksStore.ts"
import { KubeApi } from "./kubeApi.ts"
import { LeaderElection, type LeaderElectionOptions } from "./leaderElection.ts"
import { ManagedDeployments } from "./managedDeployments.ts"
import type { XdsEndpoint } from "./managedObjects.ts"
import { statusWriter } from "./statusWriter.ts"
import { tokenReviewAuthenticator } from "./tokenReview.ts"
import { watchSource } from "./watchSource.ts"

export interface ClusterOptions {
  /** Only GatewayClasses of this controller, and their Gateways, get status written. */
  readonly controllerName: string
  readonly kubeconfig: string | undefined
  readonly leaderElection: LeaderElectionOptions
  /** How the proxies agentplane deploys reach its xDS server (through its Service). */
  readonly managedXds: XdsEndpoint
  /** When false, no managed proxies are deployed. */
  readonly agentgateway?: boolean
}

export const clusterParts = (options: ClusterOptions) => {
  // One leader election and one event recorder, shared by the status writer and the deployer.
  const leadership = Layer.mergeAll(LeaderElection.layer(options.leaderElection), EventRecorder.layer(options.leaderElection.identity))
  const deployer = options.agentgateway === false ? Deployer.disabled : Deployer.layer(options.managedXds).pipe(Layer.provide(ManagedDeployments.layer))
  return {
    source: watchSource,
    writers: statusWriter(options.controllerName).pipe(Layer.provide(deployer), Layer.provide(leadership)),
    authenticator: tokenReviewAuthenticator,
    /** Remote JWKS: fetched by the leader, stored in ConfigMaps of the Lease's namespace, read by every replica. */
    jwksKeys: jwksStore(options.leaderElection.namespace).pipe(Layer.provide(leadership)),
    api: KubeApi.layer(options.kubeconfig)
  }
}
