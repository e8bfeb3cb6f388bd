// Settings of the translator that come from the command line, not from objects.
import type { ExternalNamePolicy } from "./externalNames.ts"

export interface TranslateOptions {
  /** GatewayClasses with this `spec.controllerName` are ours. */
  readonly controllerName: string
  /** DNS suffix of in-cluster Service names. */
  readonly clusterDomain: string
  /** Which hosts ExternalName Services may point the proxy at; default: any. */
  readonly externalNames?: ExternalNamePolicy
}

export const defaultTranslateOptions: TranslateOptions = {
  controllerName: "kgateway.dev/kgateway",
  clusterDomain: "cluster.local"
}
