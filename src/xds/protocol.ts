// The delta xDS protocol of one stream, as a pure reducer:
// step(state, event) → [state, outputs]. No I/O, no clock, no randomness,
// so every rule (wildcard subscribe, nonces, ACK, NACK, reconnect with
// initial versions) is testable without a network. State is kept only for
// the types we serve, so that what a response costs does not grow with what
// a client chose to subscribe to.
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery.ts"
import { clip, MAX_TYPE_URL_CHARS, MAX_TYPES_PER_STREAM } from "./limits.ts"
import { type NackEntry, parseNack, withinNackBudget } from "./nack.ts"
import { resourcesOf, SERVED_TYPE_URLS, type GatewayView, type VersionedResource } from "./snapshot.ts"

/** Versions a client refused, by resource name then version, with the proxy's message. */
export type Refusals = ReadonlyMap<string, ReadonlyMap<string, string>>

export interface TypeState {
  /** What the client holds once every response in flight has landed: the base of every diff. */
  readonly client: ReadonlyMap<string, string>
  /** What the client has acknowledged holding. */
  readonly confirmed: ReadonlyMap<string, string>
  /** Versions the client refused; never sent again on this stream while the resource exists. */
  readonly refused: Refusals
}

export interface InFlight {
  readonly typeUrl: string
  /** name → version sent */
  readonly sent: ReadonlyMap<string, string>
  readonly removed: ReadonlyArray<string>
}

export interface StreamState {
  readonly noncePrefix: string
  readonly nonceSeq: number
  readonly view: GatewayView
  /** Subscribed types we serve (at most SERVED_TYPE_URLS). */
  readonly types: ReadonlyMap<string, TypeState>
  /** Other types the client subscribed to; each was answered once, empty. */
  readonly unknownTypes: ReadonlySet<string>
  /** Responses not yet ACKed or NACKed, by nonce, oldest first. */
  readonly inflight: ReadonlyMap<string, InFlight>
}

export type StreamEvent = { readonly _tag: "Request"; readonly request: DeltaDiscoveryRequest } | { readonly _tag: "Update"; readonly view: GatewayView }

export type StreamOutput =
  | { readonly _tag: "Send"; readonly response: DeltaDiscoveryResponse; readonly trigger: "subscribe" | "update" }
  | {
      /** The client answered a response; `confirmed` and `refused` are its acknowledged state now. */
      readonly _tag: "Answered"
      readonly typeUrl: string
      readonly nonce: string
      readonly confirmed: ReadonlyMap<string, string>
      readonly refused: Refusals
      readonly errors: ReadonlyArray<NackEntry>
      readonly warnings: ReadonlyArray<NackEntry>
    }
  | { readonly _tag: "Ignored"; readonly reason: string }
  /** The client asked for more than any proxy would: close the stream with this gRPC status. */
  | { readonly _tag: "Refuse"; readonly code: "RESOURCE_EXHAUSTED" | "INVALID_ARGUMENT"; readonly reason: string }

/** Responses kept for matching ACKs; a client this far behind has its oldest answers ignored. */
export const MAX_IN_FLIGHT = 64

/** Refused versions remembered per resource; older refusals are forgotten. */
const MAX_REFUSALS_PER_RESOURCE = 8

export const initialState = (noncePrefix: string, view: GatewayView): StreamState => ({
  noncePrefix,
  nonceSeq: 0,
  view,
  types: new Map(),
  unknownTypes: new Set(),
  inflight: new Map()
})

const diff = (desired: ReadonlyMap<string, VersionedResource>, type: TypeState) => {
  const send: Array<VersionedResource> = []
  for (const resource of desired.values()) {
    if (type.client.get(resource.name) !== resource.version && type.refused.get(resource.name)?.has(resource.version) !== true) {
      send.push(resource)
    }
  }
  const removed: Array<string> = []
  for (const name of type.client.keys()) if (!desired.has(name)) removed.push(name)
  return { send, removed }
}

const respond = (
  state: StreamState,
  typeUrl: string,
  type: TypeState,
  send: ReadonlyArray<VersionedResource>,
  removed: ReadonlyArray<string>,
  trigger: "subscribe" | "update"
): [StreamState, StreamOutput] => {
  const nonce = `${state.noncePrefix}${state.nonceSeq + 1}`
  const client = new Map(type.client)
  const sent = new Map<string, string>()
  for (const resource of send) {
    sent.set(resource.name, resource.version)
    client.set(resource.name, resource.version)
  }
  for (const name of removed) client.delete(name)
  const inflight = new Map(state.inflight)
  inflight.set(nonce, { typeUrl, sent, removed })
  while (inflight.size > MAX_IN_FLIGHT) inflight.delete(inflight.keys().next().value!)
  const response: DeltaDiscoveryResponse = {
    systemVersionInfo: "",
    typeUrl,
    nonce,
    resources: send.map((resource) => ({
      name: resource.name,
      version: resource.version,
      resource: { typeUrl, value: resource.bytes },
      aliases: [],
      resourceName: undefined,
      ttl: undefined,
      cacheControl: undefined,
      metadata: undefined
    })),
    removedResources: [...removed],
    removedResourceNames: [],
    controlPlane: undefined
  }
  const types = new Map(state.types)
  types.set(typeUrl, { ...type, client })
  return [
    { ...state, nonceSeq: state.nonceSeq + 1, inflight, types },
    { _tag: "Send", response, trigger }
  ]
}

/** An empty response to a type we do not serve, so that a client waiting for every type is not stuck; not tracked. */
const emptyResponse = (state: StreamState, typeUrl: string): [StreamState, StreamOutput] => {
  const nonce = `${state.noncePrefix}${state.nonceSeq + 1}`
  const response: DeltaDiscoveryResponse = {
    systemVersionInfo: "",
    typeUrl,
    nonce,
    resources: [],
    removedResources: [],
    removedResourceNames: [],
    controlPlane: undefined
  }
  return [
    { ...state, nonceSeq: state.nonceSeq + 1 },
    { _tag: "Send", response, trigger: "subscribe" }
  ]
}

const subscribeUnknown = (state: StreamState, typeUrl: string): [StreamState, ReadonlyArray<StreamOutput>] => {
  if (typeUrl.length > MAX_TYPE_URL_CHARS) {
    return [
      state,
      [
        {
          _tag: "Refuse",
          code: "INVALID_ARGUMENT",
          reason: `type URL ${clip(typeUrl, 64)} is ${typeUrl.length} characters long; agentplane serves ${[...SERVED_TYPE_URLS].join(" and ")}`
        }
      ]
    ]
  }
  if (state.unknownTypes.has(typeUrl)) {
    return [state, [{ _tag: "Ignored", reason: `repeated subscription to ${typeUrl}, which agentplane does not serve` }]]
  }
  if (state.types.size + state.unknownTypes.size >= MAX_TYPES_PER_STREAM) {
    return [
      state,
      [
        {
          _tag: "Refuse",
          code: "RESOURCE_EXHAUSTED",
          reason: `the stream subscribed to more than ${MAX_TYPES_PER_STREAM} type URLs (the last ${clip(typeUrl, 64)}); agentplane serves ${[
            ...SERVED_TYPE_URLS
          ].join(" and ")}`
        }
      ]
    ]
  }
  const [next, output] = emptyResponse({ ...state, unknownTypes: new Set(state.unknownTypes).add(typeUrl) }, typeUrl)
  return [next, [output]]
}

const subscribe = (state: StreamState, request: DeltaDiscoveryRequest): [StreamState, ReadonlyArray<StreamOutput>] => {
  if (!SERVED_TYPE_URLS.has(request.typeUrl)) return subscribeUnknown(state, request.typeUrl)
  const existing = state.types.get(request.typeUrl)
  const initial = new Map(Object.entries(request.initialResourceVersions))
  // A repeated subscription keeps what this stream already knows of the client.
  const type: TypeState = existing ?? { client: initial, confirmed: initial, refused: new Map() }
  const { removed, send } = diff(resourcesOf(state.view, request.typeUrl), type)
  // Always answer a subscription, even with nothing: the proxy is not ready until every type got one.
  const [next, output] = respond(state, request.typeUrl, type, send, removed, "subscribe")
  return [next, [output]]
}

const answer = (state: StreamState, request: DeltaDiscoveryRequest): [StreamState, ReadonlyArray<StreamOutput>] => {
  const nonce = request.responseNonce
  const flight = state.inflight.get(nonce)
  const type = flight === undefined ? undefined : state.types.get(flight.typeUrl)
  if (flight === undefined || type === undefined || flight.typeUrl !== request.typeUrl) {
    return [state, [{ _tag: "Ignored", reason: `stale or unknown nonce "${clip(nonce, 64)}" for ${clip(request.typeUrl, MAX_TYPE_URL_CHARS)}` }]]
  }
  const detail = request.errorDetail === undefined ? undefined : parseNack(request.errorDetail.message)
  // Only entries about what this response carried count: the rest of the text is the client's to waste.
  const named: Array<NackEntry & { readonly warning: boolean }> = []
  if (detail?.unparsed !== undefined) {
    for (const name of flight.sent.keys()) named.push({ name, message: detail.unparsed, warning: false })
  } else {
    for (const error of detail?.errors ?? []) if (flight.sent.has(error.name)) named.push({ ...error, warning: false })
    for (const warning of detail?.warnings ?? []) if (flight.sent.has(warning.name)) named.push({ ...warning, warning: true })
  }
  const kept = withinNackBudget(named)
  const errors = kept.flatMap(({ message, name, warning }) => (warning ? [] : [{ name, message }]))
  const warnings = kept.flatMap(({ message, name, warning }) => (warning ? [{ name, message }] : []))
  const confirmed = new Map(type.confirmed)
  const refused = new Map(type.refused)
  const failed = new Map(errors.map((error) => [error.name, error.message]))
  // Partial acceptance: every resource not named in an error was applied.
  for (const [name, version] of flight.sent) {
    const message = failed.get(name)
    if (message === undefined) {
      confirmed.set(name, version)
      continue
    }
    const versions = new Map(refused.get(name)).set(version, message)
    while (versions.size > MAX_REFUSALS_PER_RESOURCE) versions.delete(versions.keys().next().value!)
    refused.set(name, versions)
  }
  for (const name of flight.removed) confirmed.delete(name)
  const inflight = new Map(state.inflight)
  inflight.delete(nonce)
  // What the client will hold: what it confirmed, with the responses still in flight applied in order.
  const client = new Map(confirmed)
  for (const other of inflight.values()) {
    if (other.typeUrl !== flight.typeUrl) continue
    for (const [name, version] of other.sent) client.set(name, version)
    for (const name of other.removed) client.delete(name)
  }
  const types = new Map(state.types)
  types.set(flight.typeUrl, { client, confirmed, refused })
  return [
    { ...state, inflight, types },
    [
      {
        _tag: "Answered",
        typeUrl: flight.typeUrl,
        nonce,
        confirmed,
        refused,
        errors,
        warnings
      }
    ]
  ]
}

const update = (state: StreamState, view: GatewayView): [StreamState, ReadonlyArray<StreamOutput>] => {
  if (view === state.view) return [state, []]
  let next: StreamState = { ...state, view }
  const outputs: Array<StreamOutput> = []
  for (const [typeUrl, type] of state.types) {
    const desired = resourcesOf(view, typeUrl)
    const { removed, send } = diff(desired, type)
    // Forget refusals of resources that are gone.
    const refused = new Map([...type.refused].filter(([name]) => desired.has(name)))
    const cleaned: TypeState = refused.size === type.refused.size ? type : { ...type, refused }
    if (send.length === 0 && removed.length === 0) {
      if (cleaned !== type) next = { ...next, types: new Map(next.types).set(typeUrl, cleaned) }
      continue
    }
    const [after, output] = respond(next, typeUrl, cleaned, send, removed, "update")
    next = after
    outputs.push(output)
  }
  return [next, outputs]
}

export const step = (state: StreamState, event: StreamEvent): [StreamState, ReadonlyArray<StreamOutput>] => {
  switch (event._tag) {
    case "Update":
      return update(state, event.view)
    case "Request":
      return event.request.responseNonce === "" ? subscribe(state, event.request) : answer(state, event.request)
  }
}
