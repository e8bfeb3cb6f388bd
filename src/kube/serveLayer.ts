// Kubernetes mode's composition: informers in; status, Events and managed
// proxies out. Loaded only when serving a cluster, so that file mode does not
// carry the Kubernetes client.
import { Layer } from "effect"
import { compose, reconciler, type ServeOptions } from "../main.ts"
import { Deployer } from "./deployer.ts"
import { EventRecorder } from "./events.ts"
import { KubeApi } from "./kubeApi.ts"
import { LeaderElection, type LeaderElectionOptions } from "./leaderElection.ts"
import { ManagedDeployments } from "./managedDeployments.ts"
import type { XdsEndpoint } from "./managedObjects.ts"
import { statusWriter } from "./statusWriter.ts"
import { tokenReviewAuthenticator } from "./tokenReview.ts"
import { watchSource } from "./watchSource.ts"

export interface KubeServeOptions extends ServeOptions {
  readonly kubeconfig: string | undefined
  readonly leaderElection: LeaderElectionOptions
  /** How the proxies agentplane deploys reach its xDS server (through its Service). */
  readonly managedXds: XdsEndpoint
}

/**
 * Kubernetes mode: informers in; status, Events and managed proxies out, written by the leader
 * only; every xDS stream authenticated with a TokenReview.
 */
export const kubeServeLayer = (options: KubeServeOptions) => {
  // One leader election and one event recorder, shared by the status writer and the deployer.
  const leadership = Layer.mergeAll(LeaderElection.layer(options.leaderElection), EventRecorder.layer(options.leaderElection.identity))
  const deployer = options.agentgateway === false
    ? Deployer.disabled
    : Deployer.layer(options.managedXds).pipe(Layer.provide(ManagedDeployments.layer))
  const writer = statusWriter(options.controllerName).pipe(Layer.provide(deployer), Layer.provide(leadership))
  const background = Layer.mergeAll(reconciler(options).pipe(Layer.provide(watchSource)), writer)
  return compose(options, background, tokenReviewAuthenticator).pipe(Layer.provide(KubeApi.layer(options.kubeconfig)))
}
