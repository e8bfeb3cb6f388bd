// Settings of the translator that come from the command line, not from objects.
export interface TranslateOptions {
  /** GatewayClasses with this `spec.controllerName` are ours. */
  readonly controllerName: string
  /** DNS suffix of in-cluster Service names. */
  readonly clusterDomain: string
}

export const defaultTranslateOptions: TranslateOptions = {
  controllerName: "kgateway.dev/kgateway",
  clusterDomain: "cluster.local"
}
