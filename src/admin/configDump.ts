// The JSON view of what agentplane serves, shared by `render` and
// `/debug/config_dump`: per gateway, every resource with its version in
// protobuf's canonical JSON form, and the status of every object.
import { describeProblem, type SourceProblem } from "../world/source.ts"
import { Resource } from "../gen/agentgateway/resource.ts"
import type { ObjectStatus } from "../translate/status.ts"
import type { ConnectedProxy } from "../xds/dataPlane.ts"
import { RESOURCE_TYPE_URL, resourcesOf, type Snapshot } from "../xds/snapshot.ts"

export interface ConfigDump {
  readonly gateways: ReadonlyArray<{
    readonly gateway: string
    readonly resources: ReadonlyArray<{ readonly name: string; readonly version: string; readonly resource: unknown }>
  }>
  readonly statuses: ReadonlyArray<ObjectStatus>
  readonly problems: ReadonlyArray<SourceProblem & { readonly description: string }>
  readonly proxies?: ReadonlyArray<{
    readonly gateway: string
    readonly nodeId: string
    readonly peer: string
    readonly acknowledged: number
    readonly refused: ReadonlyArray<{ readonly name: string; readonly version: string; readonly message: string }>
  }>
}

export const configDump = (
  input: {
    readonly snapshot: Snapshot
    readonly statuses: ReadonlyArray<ObjectStatus>
    readonly problems: ReadonlyArray<SourceProblem>
    readonly proxies?: ReadonlyArray<ConnectedProxy>
  },
  gateway?: string
): ConfigDump => {
  const names = [...input.snapshot.gateways.keys()].filter((name) => gateway === undefined || name === gateway).sort()
  return {
    gateways: names.map((name) => ({
      gateway: name,
      resources: [...resourcesOf(input.snapshot.gateways.get(name)!, RESOURCE_TYPE_URL).values()].map((r) => ({
        name: r.name,
        version: r.version,
        resource: Resource.toJSON(Resource.decode(r.bytes))
      }))
    })),
    // One gateway's view holds its own status only.
    statuses: gateway === undefined
      ? input.statuses
      : input.statuses.filter((s) => s.kind === "Gateway" && `${s.namespace}/${s.name}` === gateway),
    problems: input.problems.map((problem) => ({ ...problem, description: describeProblem(problem) })),
    ...(input.proxies === undefined ? {} : {
      proxies: input.proxies
        .filter((p) => gateway === undefined || p.gateway === gateway)
        .map((p) => ({
          gateway: p.gateway,
          nodeId: p.nodeId,
          peer: p.peer,
          acknowledged: p.confirmed.size,
          refused: [...p.refused].flatMap(([name, versions]) => [...versions].map(([version, message]) => ({ name, version, message })))
        }))
    })
  }
}
