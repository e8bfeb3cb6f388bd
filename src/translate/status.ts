// Status of every object the translator judged, in the Gateway API's shape.
import type { Condition } from "./conditions.ts"

export interface RouteGroupKind {
  readonly group: string
  readonly kind: string
}

export interface ListenerStatus {
  readonly name: string
  readonly supportedKinds: ReadonlyArray<RouteGroupKind>
  readonly attachedRoutes: number
  readonly conditions: ReadonlyArray<Condition>
}

export interface GatewayStatus {
  readonly conditions: ReadonlyArray<Condition>
  readonly listeners: ReadonlyArray<ListenerStatus>
}

export interface ConditionsStatus {
  readonly conditions: ReadonlyArray<Condition>
}

export type ObjectStatus =
  | { readonly kind: "GatewayClass"; readonly name: string; readonly status: ConditionsStatus }
  | { readonly kind: "Gateway"; readonly namespace: string; readonly name: string; readonly status: GatewayStatus }
  | {
    /** An input object that could not be read: it names the field and the fix. */
    readonly kind: string
    readonly namespace?: string
    readonly name: string
    readonly status: ConditionsStatus
  }

const order = (status: ObjectStatus): string => `${status.kind}/${"namespace" in status ? status.namespace ?? "" : ""}/${status.name}`

export const sortStatuses = (statuses: ReadonlyArray<ObjectStatus>): ReadonlyArray<ObjectStatus> =>
  [...statuses].sort((a, b) => order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)
