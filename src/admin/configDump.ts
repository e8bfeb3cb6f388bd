// The JSON view of what agentplane serves, shared by `render` and
// `/debug/config_dump`: per gateway, every resource with its version in
// protobuf's canonical JSON form, and the status of every object.
import { describeProblem, type SourceProblem } from "../world/source.ts"
import { Resource } from "../gen/agentgateway/resource.ts"
import { redactSecrets } from "../translate/policies/redact.ts"
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

interface DumpInput {
  readonly snapshot: Snapshot
  readonly statuses: ReadonlyArray<ObjectStatus>
  readonly problems: ReadonlyArray<SourceProblem>
  readonly proxies?: ReadonlyArray<ConnectedProxy>
}

export const configDump = (input: DumpInput, gateway?: string): ConfigDump => {
  const parts = partsOf(input, gateway)
  return {
    gateways: parts.gateways.map((name) => ({ gateway: name, resources: [...parts.resources(name)] })),
    statuses: parts.statuses,
    problems: parts.problems,
    ...(parts.proxies === undefined ? {} : { proxies: parts.proxies })
  }
}

const concerns = (status: ObjectStatus, gateway: string): boolean =>
  status.kind === "Gateway"
    ? `${status.namespace}/${status.name}` === gateway
    : "ancestors" in status.status &&
      status.status.ancestors.some((a) => a.ancestorRef.kind === "Gateway" && `${a.ancestorRef.namespace}/${a.ancestorRef.name}` === gateway)

/** The pieces of a dump; resources are decoded one by one, when asked for. */
const partsOf = (input: DumpInput, gateway: string | undefined) => ({
  gateways: [...input.snapshot.gateways.keys()].filter((name) => gateway === undefined || name === gateway).sort(),
  resources: function* (name: string) {
    for (const r of resourcesOf(input.snapshot.gateways.get(name)!, RESOURCE_TYPE_URL).values()) {
      // Credentials inside policies are for the proxy only.
      yield { name: r.name, version: r.version, resource: Resource.toJSON(redactSecrets(Resource.decode(r.bytes))) }
    }
  },
  // One gateway's view holds its own status and those of the policies attached to it.
  statuses: gateway === undefined ? input.statuses : input.statuses.filter((s) => concerns(s, gateway)),
  problems: input.problems.map((problem) => ({ ...problem, description: describeProblem(problem) })),
  proxies:
    input.proxies === undefined
      ? undefined
      : input.proxies
          .filter((p) => gateway === undefined || p.gateway === gateway)
          .map((p) => ({
            gateway: p.gateway,
            nodeId: p.nodeId,
            peer: p.peer,
            acknowledged: p.confirmed.size,
            refused: [...p.refused].flatMap(([name, versions]) => [...versions].map(([version, message]) => ({ name, version, message })))
          }))
})

/** `value` as JSON indented by 2, for a place `depth` levels deep. */
const nested = (value: unknown, depth: number): string => JSON.stringify(value, null, 2).replaceAll("\n", `\n${"  ".repeat(depth)}`)

/** An array `depth` levels deep, element by element, as JSON.stringify(…, null, 2) writes it. */
function* arrayText(items: Iterable<unknown>, depth: number, element: (item: any) => Iterable<string>): Generator<string> {
  let first = true
  for (const item of items) {
    yield first ? `[\n${"  ".repeat(depth + 1)}` : `,\n${"  ".repeat(depth + 1)}`
    first = false
    yield* element(item)
  }
  yield first ? "[]" : `\n${"  ".repeat(depth)}]`
}

/**
 * The dump as text, piece by piece: the same bytes as `JSON.stringify(configDump(…), null, 2)`
 * and a newline, without ever holding all of it. A large configuration's dump is tens of megabytes of JSON; built
 * whole, a few dumps at once take hundreds of megabytes and the event loop for seconds.
 */
export function* configDumpText(input: DumpInput, gateway?: string): Generator<string> {
  const parts = partsOf(input, gateway)
  yield `{\n  "gateways": `
  yield* arrayText(parts.gateways, 1, function* (name: string) {
    yield `{\n      "gateway": ${JSON.stringify(name)},\n      "resources": `
    yield* arrayText(parts.resources(name), 3, (resource) => [nested(resource, 4)])
    yield "\n    }"
  })
  yield `,\n  "statuses": `
  yield* arrayText(parts.statuses, 1, (status) => [nested(status, 2)])
  yield `,\n  "problems": `
  yield* arrayText(parts.problems, 1, (problem) => [nested(problem, 2)])
  if (parts.proxies !== undefined) {
    yield `,\n  "proxies": `
    yield* arrayText(parts.proxies, 1, (proxy) => [nested(proxy, 2)])
  }
  yield "\n}\n"
}
