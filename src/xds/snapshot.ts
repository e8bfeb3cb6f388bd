// Versioned resources per gateway. A version is a content hash of the
// canonical protobuf bytes: stable across restarts and replicas, and equal
// exactly when the proxy would receive the same bytes.
import { createHash } from "node:crypto"
import { Resource } from "../gen/agentgateway/resource.ts"
import type { NamedResource } from "../translate/resources.ts"
import type { Translation } from "../translate/translate.ts"

export const RESOURCE_TYPE_URL = "type.googleapis.com/agentgateway.dev.resource.Resource"
export const ADDRESS_TYPE_URL = "type.googleapis.com/istio.workload.Address"
/** The types agentgateway subscribes to; any other is answered once, empty. */
export const SERVED_TYPE_URLS: ReadonlySet<string> = new Set([RESOURCE_TYPE_URL, ADDRESS_TYPE_URL])

/**
 * The type URL as a metric label. A client chooses the type URLs it subscribes to; label values
 * last as long as the process, so every type we do not serve shares one.
 */
export const typeUrlLabel = (typeUrl: string): string => (SERVED_TYPE_URLS.has(typeUrl) ? typeUrl : "unknown")

export interface VersionedResource {
  readonly name: string
  readonly version: string
  readonly bytes: Uint8Array
}

/** What one gateway's proxies receive, by type URL then resource name. */
export type GatewayView = ReadonlyMap<string, ReadonlyMap<string, VersionedResource>>

export interface Snapshot {
  /** Views by gateway `namespace/name`; a view object is reused while its content is unchanged. */
  readonly gateways: ReadonlyMap<string, GatewayView>
}

export const emptySnapshot: Snapshot = { gateways: new Map() }

/** Gateways we do not know get this: no resources, and an (empty) answer for every type. */
export const EMPTY_VIEW: GatewayView = new Map()

export const resourcesOf = (view: GatewayView, typeUrl: string): ReadonlyMap<string, VersionedResource> => view.get(typeUrl) ?? new Map()

export const contentVersion = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64url").slice(0, 22)

const sameResources = (a: ReadonlyMap<string, VersionedResource>, b: ReadonlyMap<string, VersionedResource>) => {
  if (a.size !== b.size) return false
  for (const [name, resource] of a) if (b.get(name)?.version !== resource.version) return false
  return true
}

/** Encodings by Resource object: the translator hands back the same objects for what did not change. */
const encodings = new WeakMap<Resource, VersionedResource>()
/** Views by the translator's per-gateway resource list, for the same reason. */
const views = new WeakMap<ReadonlyArray<NamedResource>, GatewayView>()

const encode = (name: string, resource: Resource): VersionedResource => {
  const cached = encodings.get(resource)
  if (cached !== undefined && cached.name === name) return cached
  const bytes = Resource.encode(resource).finish()
  const versioned = { name, version: contentVersion(bytes), bytes }
  encodings.set(resource, versioned)
  return versioned
}

/** Encodes and versions a translation, keeping `previous`'s objects where nothing changed. */
export const buildSnapshot = (translation: Translation, previous: Snapshot): Snapshot => {
  const gateways = new Map<string, GatewayView>()
  for (const [gateway, resources] of translation.gateways) {
    const before = previous.gateways.get(gateway)
    const known = views.get(resources)
    if (known !== undefined) {
      gateways.set(gateway, known)
      continue
    }
    const beforeResources = before === undefined ? undefined : resourcesOf(before, RESOURCE_TYPE_URL)
    const versioned = new Map<string, VersionedResource>()
    for (const { name, resource } of resources) {
      const current = encode(name, resource)
      const old = beforeResources?.get(name)
      versioned.set(name, old?.version === current.version ? old : current)
    }
    const view: GatewayView =
      before !== undefined && beforeResources !== undefined && sameResources(beforeResources, versioned)
        ? before
        : new Map([
            [RESOURCE_TYPE_URL, versioned],
            [ADDRESS_TYPE_URL, new Map()]
          ])
    views.set(resources, view)
    gateways.set(gateway, view)
  }
  return { gateways }
}

/** Names whose version differs between two snapshots, per gateway (for logs and benchmarks). */
export const changedGateways = (before: Snapshot, after: Snapshot): ReadonlyArray<string> => {
  const names = new Set([...before.gateways.keys(), ...after.gateways.keys()])
  return [...names].filter((name) => before.gateways.get(name) !== after.gateways.get(name)).sort()
}
