// Property tests of the per-stream delta xDS reducer (src/xds/protocol.ts).
// A simulated proxy holds name → version per type, applies every Send as it
// arrives and answers later, in order, with an ACK or a NACK: it refuses a
// fixed set of ("poison") versions, as a proxy refuses bytes it cannot apply.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from "../../src/gen/envoy/service/discovery/v3/discovery.ts"
import { initialState, MAX_IN_FLIGHT, step, type StreamEvent, type StreamOutput, type StreamState } from "../../src/xds/protocol.ts"
import { ADDRESS_TYPE_URL, contentVersion, RESOURCE_TYPE_URL, type GatewayView, type VersionedResource } from "../../src/xds/snapshot.ts"

// ---------------------------------------------------------------------------
// Views

const TYPES = [ADDRESS_TYPE_URL, RESOURCE_TYPE_URL] as const
type TypeUrl = (typeof TYPES)[number]
const NAMES = ["bind/80/ns/gw", "listener/ns/gw.mcp", "route/ns/gw.mcp.mcp", "backend/ns/gw.mcp.mcp", "backend/ns/svc:8080"]
/** Contents 0..CONTENTS-1 exist in views; CONTENTS is a version only a reconnecting client can claim. */
const CONTENTS = 3

interface ResourceSpec {
  readonly type: TypeUrl
  readonly name: string
  readonly content: number
}

const bytesOf = (spec: ResourceSpec): Uint8Array => new TextEncoder().encode(`${spec.type}|${spec.name}|${spec.content}`)
const versionOf = (spec: ResourceSpec): string => contentVersion(bytesOf(spec))

const buildView = (specs: ReadonlyArray<ResourceSpec>, explicitEmpty: boolean): GatewayView => {
  const view = new Map<string, Map<string, VersionedResource>>()
  if (explicitEmpty) for (const type of TYPES) view.set(type, new Map())
  for (const spec of specs) {
    const resources = view.get(spec.type) ?? new Map<string, VersionedResource>()
    resources.set(spec.name, { name: spec.name, version: versionOf(spec), bytes: bytesOf(spec) })
    view.set(spec.type, resources)
  }
  return view
}

const desiredVersions = (view: GatewayView, type: string): Map<string, string> =>
  new Map([...(view.get(type) ?? new Map<string, VersionedResource>()).values()].map((r) => [r.name, r.version]))

// ---------------------------------------------------------------------------
// Scenarios

const resourceSpec = fc.record({
  type: fc.constantFrom(...TYPES),
  name: fc.constantFrom(...NAMES),
  content: fc.integer({ min: 0, max: CONTENTS - 1 })
})
const viewSpec = fc.record({
  resources: fc.uniqueArray(resourceSpec, { selector: (r) => `${r.type}|${r.name}`, maxLength: 8 }),
  explicitEmpty: fc.boolean()
})
const initialVersions = fc.uniqueArray(fc.record({ name: fc.constantFrom(...NAMES), content: fc.integer({ min: 0, max: CONTENTS }) }), {
  selector: (r) => r.name,
  maxLength: 4
})

type Action =
  | { readonly _tag: "Update"; readonly view: typeof viewSpec extends fc.Arbitrary<infer A> ? A : never }
  | { readonly _tag: "Touch" }
  /** Changes one resource of the current view (content, or `undefined` to delete it): makes A→B→A histories likely. */
  | { readonly _tag: "Mutate"; readonly type: TypeUrl; readonly name: string; readonly content: number | undefined }
  | { readonly _tag: "Answer"; readonly count: number }
  | { readonly _tag: "AnswerAll" }
  | { readonly _tag: "Resubscribe"; readonly type: TypeUrl }
  | { readonly _tag: "Stale"; readonly kind: "future" | "garbage" | "answered" | "wrongType"; readonly nack: boolean }

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: viewSpec.map((view) => ({ _tag: "Update" as const, view })) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Touch" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("Mutate" as const),
      type: fc.constantFrom(...TYPES),
      name: fc.constantFrom(...NAMES.slice(0, 2)),
      content: fc.option(fc.integer({ min: 0, max: CONTENTS - 1 }), { nil: undefined })
    })
  },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }).map((count) => ({ _tag: "Answer" as const, count })) },
  { weight: 1, arbitrary: fc.constant({ _tag: "AnswerAll" as const }) },
  { weight: 1, arbitrary: fc.constantFrom(...TYPES).map((type) => ({ _tag: "Resubscribe" as const, type })) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("Stale" as const),
      kind: fc.constantFrom("future" as const, "garbage" as const, "answered" as const, "wrongType" as const),
      nack: fc.boolean()
    })
  }
)

const scenario = (options: { readonly poison: boolean }) =>
  fc.record({
    noncePrefix: fc.constantFrom("", "n", "stream-7/"),
    initial: viewSpec,
    firstType: fc.constantFrom(...TYPES),
    initialVersions: fc.record({ [ADDRESS_TYPE_URL]: initialVersions, [RESOURCE_TYPE_URL]: initialVersions }),
    /** How many actions run between the first and the second subscription. */
    secondSubscribeAt: fc.nat({ max: 3 }),
    actions: fc.array(action, { maxLength: 24 }),
    poison: options.poison ? fc.uniqueArray(resourceSpec, { selector: (r) => `${r.type}|${r.name}|${r.content}`, maxLength: 10 }) : fc.constant([]),
    warn: fc.uniqueArray(resourceSpec, { selector: (r) => `${r.type}|${r.name}|${r.content}`, maxLength: 4 })
  })
type Scenario = typeof scenario extends (o: never) => fc.Arbitrary<infer A> ? A : never

// ---------------------------------------------------------------------------
// The simulated proxy

interface Answer {
  readonly typeUrl: string
  readonly nonce: string
  readonly request: DeltaDiscoveryRequest
  readonly refused: ReadonlyMap<string, string>
  readonly warned: ReadonlySet<string>
  /** What the client held right after applying this response. */
  readonly heldAfter: ReadonlyMap<string, string>
}

class SimClient {
  readonly holdings = new Map<string, Map<string, string>>()
  readonly queue: Array<Answer> = []
  readonly answered: Array<Answer> = []
  readonly poison: ReadonlySet<string>
  readonly warn: ReadonlySet<string>
  constructor(poison: ReadonlySet<string>, warn: ReadonlySet<string>) {
    this.poison = poison
    this.warn = warn
  }

  held(type: string): Map<string, string> {
    const held = this.holdings.get(type) ?? new Map<string, string>()
    this.holdings.set(type, held)
    return held
  }

  subscribe(type: string, initial: Record<string, string>): DeltaDiscoveryRequest {
    if (!this.holdings.has(type)) for (const [name, version] of Object.entries(initial)) this.held(type).set(name, version)
    return DeltaDiscoveryRequest.fromPartial({
      node: { id: "agentgateway~10.0.0.1~gw-0.ns~ns.svc.cluster.local" },
      typeUrl: type,
      initialResourceVersions: initial
    })
  }

  receive(response: DeltaDiscoveryResponse): void {
    const held = this.held(response.typeUrl)
    const entries: Array<{ key: string; error?: string; warn?: string }> = []
    const refused = new Map<string, string>()
    const warned = new Set<string>()
    for (const resource of response.resources) {
      if (this.poison.has(resource.version)) {
        entries.push({ key: resource.name, error: "cannot apply" })
        refused.set(resource.name, resource.version)
        continue
      }
      held.set(resource.name, resource.version)
      if (this.warn.has(resource.version)) {
        entries.push({ key: resource.name, warn: "applied with a warning" })
        warned.add(resource.name)
      }
    }
    // removed_resources are always applied.
    for (const name of response.removedResources) held.delete(name)
    const request = DeltaDiscoveryRequest.fromPartial({
      typeUrl: response.typeUrl,
      responseNonce: response.nonce,
      ...(entries.length === 0 ? {} : { errorDetail: { code: 0, message: JSON.stringify(entries) } })
    })
    this.queue.push({ typeUrl: response.typeUrl, nonce: response.nonce, request, refused, warned, heldAfter: new Map(held) })
  }
}

// ---------------------------------------------------------------------------
// Running a scenario

interface Step {
  readonly event: StreamEvent
  readonly outputs: ReadonlyArray<StreamOutput>
  readonly before: StreamState
  readonly after: StreamState
  /** The desired view once the event was handled. */
  readonly view: GatewayView
  readonly answer?: Answer
  readonly stale?: boolean
}

interface Trace {
  readonly steps: ReadonlyArray<Step>
  readonly state: StreamState
  readonly client: SimClient
  readonly view: GatewayView
}

/** Maps by entries (in insertion order) and bytes as arrays, for deep comparison. */
const plain = (value: unknown): unknown => {
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [plain(k), plain(v)]) }
  if (value instanceof Uint8Array) return { bytes: [...value] }
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

const versionSet = (specs: ReadonlyArray<ResourceSpec>) => new Set(specs.map(versionOf))

interface RunOptions {
  readonly answerAllAtEnd: boolean
  /** The client answers every response before anything else happens (at most one response in flight per type). */
  readonly prompt?: boolean
  readonly checkPurity?: boolean
}

const run = (s: Scenario, options: RunOptions): Trace => {
  const client = new SimClient(versionSet(s.poison), versionSet(s.warn))
  let view = buildView(s.initial.resources, s.initial.explicitEmpty)
  let state = initialState(s.noncePrefix, view)
  const steps: Array<Step> = []

  const feed = (event: StreamEvent, extra: { answer?: Answer; stale?: boolean } = {}) => {
    const before = state
    const copy = options.checkPurity === true ? plain(before) : undefined
    const eventCopy = options.checkPurity === true ? plain(event) : undefined
    const [after, outputs] = step(before, event)
    if (copy !== undefined) {
      assert.deepStrictEqual(plain(before), copy, "step mutated its input state")
      assert.deepStrictEqual(plain(event), eventCopy, "step mutated its input event")
    }
    state = after
    steps.push({ event, outputs, before, after, view, ...extra })
    for (const output of outputs) if (output._tag === "Send") client.receive(output.response)
    assert.isAtMost(client.queue.length, MAX_IN_FLIGHT, "scenario outgrew the in-flight window")
  }
  const answer = (count: number) => {
    for (let i = 0; i < count; i++) {
      const next = client.queue.shift()
      if (next === undefined) return
      client.answered.push(next)
      feed({ _tag: "Request", request: next.request }, { answer: next })
    }
  }
  const subscribe = (type: TypeUrl) => {
    // A reconnecting proxy lists only what it accepted, so never a version it refuses.
    const initial = Object.fromEntries(
      s.initialVersions[type]
        .map(({ content, name }) => [name, versionOf({ type, name, content })] as const)
        .filter(([, version]) => !client.poison.has(version))
    )
    feed({ _tag: "Request", request: client.subscribe(type, initial) })
  }
  const stale = (kind: Extract<Action, { _tag: "Stale" }>["kind"], nack: boolean) => {
    const pending = client.queue[0]
    const done = client.answered.at(-1)
    const target =
      kind === "future"
        ? { typeUrl: RESOURCE_TYPE_URL, nonce: `${s.noncePrefix}${state.nonceSeq + 1}` }
        : kind === "garbage"
          ? { typeUrl: ADDRESS_TYPE_URL, nonce: "not-a-nonce" }
          : kind === "answered"
            ? done === undefined
              ? undefined
              : { typeUrl: done.typeUrl, nonce: done.nonce }
            : pending === undefined
              ? undefined
              : { typeUrl: pending.typeUrl === RESOURCE_TYPE_URL ? ADDRESS_TYPE_URL : RESOURCE_TYPE_URL, nonce: pending.nonce }
    if (target === undefined) return
    const request = DeltaDiscoveryRequest.fromPartial({
      typeUrl: target.typeUrl,
      responseNonce: target.nonce,
      ...(nack ? { errorDetail: { code: 0, message: JSON.stringify(NAMES.map((key) => ({ key, error: "stale" }))) } } : {})
    })
    feed({ _tag: "Request", request }, { stale: true })
  }

  const second = s.firstType === ADDRESS_TYPE_URL ? RESOURCE_TYPE_URL : ADDRESS_TYPE_URL
  const promptly = () => (options.prompt === true ? answer(client.queue.length) : undefined)
  subscribe(s.firstType)
  promptly()
  s.actions.forEach((a, index) => {
    if (index === s.secondSubscribeAt) subscribe(second)
    promptly()
    act(a)
    promptly()
  })
  if (s.actions.length <= s.secondSubscribeAt) subscribe(second)
  if (options.answerAllAtEnd) answer(client.queue.length)
  return { steps, state, client, view }

  function act(a: Action) {
    switch (a._tag) {
      case "Update":
        view = buildView(a.view.resources, a.view.explicitEmpty)
        return feed({ _tag: "Update", view })
      case "Touch":
        // A new view object with the same content.
        view = new Map([...view].map(([type, resources]) => [type, new Map(resources)]))
        return feed({ _tag: "Update", view })
      case "Mutate": {
        const next = new Map([...view].map(([type, resources]) => [type, new Map(resources)]))
        const resources = next.get(a.type) ?? new Map<string, VersionedResource>()
        if (a.content === undefined) resources.delete(a.name)
        else {
          const spec = { type: a.type, name: a.name, content: a.content }
          resources.set(a.name, { name: a.name, version: versionOf(spec), bytes: bytesOf(spec) })
        }
        view = next.set(a.type, resources)
        return feed({ _tag: "Update", view })
      }
      case "Answer":
        return answer(a.count)
      case "AnswerAll":
        return answer(client.queue.length)
      case "Resubscribe":
        return client.holdings.has(a.type) ? feed({ _tag: "Request", request: client.subscribe(a.type, {}) }) : undefined
      case "Stale":
        return stale(a.kind, a.nack)
    }
  }
}

const sends = (outputs: ReadonlyArray<StreamOutput>) => outputs.flatMap((output) => (output._tag === "Send" ? [output] : []))

/** PROP_RUNS raises the number of runs for a deeper search. */
const RUNS = { numRuns: Number(process.env["PROP_RUNS"] ?? 250) }

// ---------------------------------------------------------------------------
// Checks shared by several regimes

/** Every resource the client holds is in the final view, at its desired version unless that version is refused. */
const checkConvergedExceptRefused = (trace: Trace) => {
  for (const type of TYPES) {
    const desired = desiredVersions(trace.view, type)
    const held = trace.client.held(type)
    for (const name of held.keys()) assert.isTrue(desired.has(name), `client still holds ${name}, gone from ${type}`)
    for (const [name, version] of desired) {
      if (trace.client.poison.has(version)) {
        // Refused: kept at an earlier (accepted) version, or not held at all.
        assert.notStrictEqual(held.get(name), version)
      } else {
        assert.strictEqual(held.get(name), version, `client holds ${name} at the wrong version`)
      }
    }
  }
}

/** Once the client refused R at V while V was desired, no Send carries R at V until the desired version moves. */
const checkNoResendOfRefused = (trace: Trace) => {
  const blocked = new Map<string, string>()
  const key = (type: string, name: string) => `${type}\n${name}`
  for (const step of trace.steps) {
    if (step.event._tag === "Update") {
      for (const [k, version] of blocked) {
        const [type, name] = k.split("\n") as [string, string]
        if (desiredVersions(step.view, type).get(name) !== version) blocked.delete(k)
      }
    }
    if (step.answer !== undefined) {
      const desired = desiredVersions(step.view, step.answer.typeUrl)
      for (const [name, version] of step.answer.refused) {
        if (desired.get(name) === version) blocked.set(key(step.answer.typeUrl, name), version)
      }
    }
    for (const { response } of sends(step.outputs)) {
      for (const resource of response.resources) {
        assert.notStrictEqual(
          blocked.get(key(response.typeUrl, resource.name)),
          resource.version,
          `${resource.name} resent at its refused version in ${response.nonce}`
        )
      }
    }
  }
}

// Minimal counterexamples of the rollback bug in `answer` (src/xds/protocol.ts): a NACK of
// an older response rolls the client back although a later in-flight response re-sent the
// same version, so the server's picture of the client goes wrong. See the report.
const R = "route/ns/gw.mcp.mcp"
const rollbackCounterexamples: ReadonlyArray<Scenario> = [
  // A resource the client still holds is never removed.
  {
    noncePrefix: "",
    initial: { resources: [{ type: RESOURCE_TYPE_URL, name: R, content: 0 }], explicitEmpty: false },
    firstType: RESOURCE_TYPE_URL,
    initialVersions: { [ADDRESS_TYPE_URL]: [], [RESOURCE_TYPE_URL]: [] },
    secondSubscribeAt: 9,
    actions: [
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: 1 },
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: 0 },
      { _tag: "AnswerAll" },
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: undefined }
    ],
    poison: [{ type: RESOURCE_TYPE_URL, name: R, content: 0 }],
    warn: []
  },
  // A resource the client lost is never sent again.
  {
    noncePrefix: "",
    initial: { resources: [{ type: RESOURCE_TYPE_URL, name: R, content: 1 }], explicitEmpty: false },
    firstType: RESOURCE_TYPE_URL,
    initialVersions: { [ADDRESS_TYPE_URL]: [], [RESOURCE_TYPE_URL]: [{ name: R, content: 2 }] },
    secondSubscribeAt: 9,
    actions: [
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: undefined },
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: 1 },
      { _tag: "AnswerAll" },
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: 2 }
    ],
    poison: [{ type: RESOURCE_TYPE_URL, name: R, content: 1 }],
    warn: []
  },
  // A refused version is sent again while it stays the desired one.
  {
    noncePrefix: "",
    initial: { resources: [{ type: RESOURCE_TYPE_URL, name: R, content: 0 }], explicitEmpty: false },
    firstType: RESOURCE_TYPE_URL,
    initialVersions: { [ADDRESS_TYPE_URL]: [], [RESOURCE_TYPE_URL]: [] },
    secondSubscribeAt: 9,
    actions: [
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: 2 },
      { _tag: "Mutate", type: RESOURCE_TYPE_URL, name: R, content: 0 },
      { _tag: "Answer", count: 2 },
      { _tag: "Touch" }
    ],
    poison: [
      { type: RESOURCE_TYPE_URL, name: R, content: 0 },
      { type: RESOURCE_TYPE_URL, name: R, content: 2 }
    ],
    warn: []
  }
]

// ---------------------------------------------------------------------------

describe("delta xDS reducer", () => {
  it("converges: a client that ACKs everything ends up holding exactly the final view", () => {
    fc.assert(
      fc.property(scenario({ poison: false }), (s) => {
        const trace = run(s, { answerAllAtEnd: true })
        for (const type of TYPES) {
          const desired = desiredVersions(trace.view, type)
          assert.deepStrictEqual(trace.client.held(type), desired, `client holdings of ${type}`)
          const server = trace.state.types.get(type)
          assert.deepStrictEqual(server?.confirmed, desired, `confirmed ${type}`)
          assert.deepStrictEqual(server?.client, desired, `server's view of the client ${type}`)
        }
        assert.strictEqual(trace.state.inflight.size, 0)
        // Every resource sent is the desired bytes of its version, wrapped with the subscribed type.
        for (const { outputs } of trace.steps) {
          for (const { response } of sends(outputs)) {
            for (const resource of response.resources) {
              assert.strictEqual(resource.resource?.typeUrl, response.typeUrl)
              assert.strictEqual(contentVersion(resource.resource!.value), resource.version)
            }
          }
        }
      }),
      RUNS
    )
  })

  it("with NACKs answered promptly, converges on every resource whose desired version the client accepts", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => checkConvergedExceptRefused(run(s, { answerAllAtEnd: true, prompt: true }))),
      RUNS
    )
  })

  it("with NACKs answered promptly, never resends a refused version while it stays the desired one", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => checkNoResendOfRefused(run(s, { answerAllAtEnd: true, prompt: true }))),
      RUNS
    )
  })

  // Regression: NACKs answered after later responses were sent once rolled the client's
  // state back wrongly; the counterexamples that showed it run first.
  it("with NACKs answered late, converges on every resource whose desired version the client accepts", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => checkConvergedExceptRefused(run(s, { answerAllAtEnd: true }))),
      { ...RUNS, examples: rollbackCounterexamples.slice(0, 2).map((s) => [s]) }
    )
  })

  it("with NACKs answered late, never resends a refused version while it stays the desired one", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => checkNoResendOfRefused(run(s, { answerAllAtEnd: true }))),
      { ...RUNS, examples: rollbackCounterexamples.slice(2).map((s) => [s]) }
    )
  })

  it("reports what the client holds: Answered.confirmed, errors and warnings match the client's answer", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => {
        const trace = run(s, { answerAllAtEnd: true })
        for (const step of trace.steps) {
          if (step.answer === undefined) continue
          assert.strictEqual(step.outputs.length, 1)
          const output = step.outputs[0]!
          assert.strictEqual(output._tag, "Answered")
          if (output._tag !== "Answered") continue
          // Holds in every regime: the client never holds a version it refused, and confirmed says exactly that.
          assert.deepStrictEqual(output.confirmed, step.answer.heldAfter, `confirmed after ${output.nonce}`)
          assert.deepStrictEqual(output.errors.map((e) => e.name).sort(), [...step.answer.refused.keys()].sort())
          assert.deepStrictEqual(output.warnings.map((e) => e.name).sort(), [...step.answer.warned].sort())
          for (const [name, version] of step.answer.refused) assert.isTrue(output.refused.get(name)?.has(version) === true)
        }
      }),
      RUNS
    )
  })

  it("answers every subscription with exactly one Send, even an empty one", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => {
        const trace = run(s, { answerAllAtEnd: false })
        let subscriptions = 0
        for (const step of trace.steps) {
          if (step.event._tag !== "Request" || step.event.request.responseNonce !== "") continue
          subscriptions++
          assert.strictEqual(step.outputs.length, 1)
          const output = step.outputs[0]!
          assert.strictEqual(output._tag, "Send")
          if (output._tag !== "Send") continue
          assert.strictEqual(output.trigger, "subscribe")
          assert.strictEqual(output.response.typeUrl, step.event.request.typeUrl)
        }
        assert.isAtLeast(subscriptions, 2)
      }),
      RUNS
    )
  })

  it("ignores stale and unknown nonces without changing anything", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), fc.boolean(), (s, nack) => {
        const trace = run(s, { answerAllAtEnd: false })
        const checkIgnored = (state: StreamState, request: DeltaDiscoveryRequest) => {
          const [next, outputs] = step(state, { _tag: "Request", request })
          assert.strictEqual(outputs.length, 1)
          assert.strictEqual(outputs[0]!._tag, "Ignored")
          assert.deepStrictEqual(plain(next), plain(state))
        }
        // Stale requests the scenario sent along the way.
        for (const s of trace.steps.filter((s) => s.stale === true)) {
          assert.strictEqual(s.outputs.length, 1)
          assert.strictEqual(s.outputs[0]!._tag, "Ignored")
          assert.deepStrictEqual(plain(s.after), plain(s.before))
        }
        // And at the end: every answered nonce, a nonce not yet issued, every in-flight nonce with the wrong type.
        const errorDetail = nack ? { errorDetail: { code: 0, message: `[{"key":"${NAMES[0]}","error":"x"}]` } } : {}
        for (const done of trace.client.answered) {
          checkIgnored(trace.state, DeltaDiscoveryRequest.fromPartial({ typeUrl: done.typeUrl, responseNonce: done.nonce, ...errorDetail }))
        }
        checkIgnored(
          trace.state,
          DeltaDiscoveryRequest.fromPartial({ typeUrl: RESOURCE_TYPE_URL, responseNonce: `${s.noncePrefix}${trace.state.nonceSeq + 1}`, ...errorDetail })
        )
        for (const pending of trace.client.queue) {
          const other = pending.typeUrl === RESOURCE_TYPE_URL ? ADDRESS_TYPE_URL : RESOURCE_TYPE_URL
          checkIgnored(trace.state, DeltaDiscoveryRequest.fromPartial({ typeUrl: other, responseNonce: pending.nonce, ...errorDetail }))
        }
      }),
      RUNS
    )
  })

  it("never reuses a nonce within a stream", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => {
        const trace = run(s, { answerAllAtEnd: true })
        const nonces = trace.steps.flatMap((step) => sends(step.outputs).map((send) => send.response.nonce))
        for (const nonce of nonces) assert.notStrictEqual(nonce, "")
        assert.strictEqual(new Set(nonces).size, nonces.length)
      }),
      RUNS
    )
  })

  it("is pure: step never mutates its input state or event", () => {
    fc.assert(
      fc.property(scenario({ poison: true }), (s) => {
        run(s, { answerAllAtEnd: true, checkPurity: true })
      }),
      RUNS
    )
  })
})

// ---------------------------------------------------------------------------
// Reconnect, by example

describe("delta xDS reducer: reconnect with initial_resource_versions", () => {
  const specs: ReadonlyArray<ResourceSpec> = [
    { type: RESOURCE_TYPE_URL, name: "bind/80/ns/gw", content: 0 },
    { type: RESOURCE_TYPE_URL, name: "listener/ns/gw.mcp", content: 1 },
    { type: RESOURCE_TYPE_URL, name: "backend/ns/svc:8080", content: 2 }
  ]
  const view = buildView(specs, true)
  const current = Object.fromEntries(specs.map((spec) => [spec.name, versionOf(spec)]))

  const reconnect = (initialResourceVersions: Record<string, string>) => {
    const [, outputs] = step(initialState("r", view), {
      _tag: "Request",
      request: DeltaDiscoveryRequest.fromPartial({ typeUrl: RESOURCE_TYPE_URL, initialResourceVersions })
    })
    assert.strictEqual(outputs.length, 1)
    const output = outputs[0]!
    assert.strictEqual(output._tag, "Send")
    if (output._tag !== "Send") throw new Error("unreachable")
    return output.response
  }

  it.effect("a client that holds the current view gets an empty response", () =>
    Effect.sync(() => {
      const response = reconnect(current)
      assert.deepStrictEqual(response.resources, [])
      assert.deepStrictEqual(response.removedResources, [])
      assert.strictEqual(response.typeUrl, RESOURCE_TYPE_URL)
      assert.notStrictEqual(response.nonce, "")
    })
  )

  it.effect("a client with one stale version gets just that resource", () =>
    Effect.sync(() => {
      const response = reconnect({ ...current, "listener/ns/gw.mcp": "stale" })
      assert.deepStrictEqual(
        response.resources.map((r) => [r.name, r.version]),
        [["listener/ns/gw.mcp", current["listener/ns/gw.mcp"]]]
      )
      assert.deepStrictEqual(response.removedResources, [])
    })
  )

  it.effect("a client holding a name that no longer exists gets it in removedResources", () =>
    Effect.sync(() => {
      const response = reconnect({ ...current, "route/ns/gone.mcp.mcp": "v1" })
      assert.deepStrictEqual(response.resources, [])
      assert.deepStrictEqual(response.removedResources, ["route/ns/gone.mcp.mcp"])
    })
  )

  it.effect("a NACK whose detail is not the JSON array refuses every resource of that response", () =>
    Effect.sync(() => {
      const [subscribed, [sent]] = step(initialState("r", view), {
        _tag: "Request",
        request: DeltaDiscoveryRequest.fromPartial({ typeUrl: RESOURCE_TYPE_URL })
      })
      assert.strictEqual(sent?._tag, "Send")
      if (sent?._tag !== "Send") return
      const nack = DeltaDiscoveryRequest.fromPartial({
        typeUrl: RESOURCE_TYPE_URL,
        responseNonce: sent.response.nonce,
        errorDetail: { code: 0, message: "proxy could not parse the response" }
      })
      const [after, [answered]] = step(subscribed, { _tag: "Request", request: nack })
      assert.strictEqual(answered?._tag, "Answered")
      if (answered?._tag !== "Answered") return
      assert.deepStrictEqual(answered.errors.map((e) => e.name).sort(), Object.keys(current).sort())
      assert.deepStrictEqual(answered.confirmed, new Map())
      // Nothing is resent while the view stays the same.
      const [, outputs] = step(after, { _tag: "Update", view: new Map(view) })
      assert.deepStrictEqual(outputs, [])
    })
  )

  it.effect("a client that left out a refused resource gets it again", () =>
    Effect.sync(() => {
      const { "backend/ns/svc:8080": _refused, ...accepted } = current
      const response = reconnect(accepted)
      assert.deepStrictEqual(
        response.resources.map((r) => r.name),
        ["backend/ns/svc:8080"]
      )
    })
  )
})
