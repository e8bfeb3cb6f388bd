// Property tests of the pure translator (src/translate): random worlds of
// GatewayClasses, GatewayParameters, Gateways, Namespaces and Services, built
// as plain Kubernetes objects and decoded like every source decodes them.
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Protocol, Resource } from "../../src/gen/agentgateway/resource.ts"
import {
  decodeObject,
  defaultTranslateOptions,
  translate,
  type InputObject,
  type NamedResource,
  type Translation,
  worldFromObjects
} from "../../src/translate/index.ts"

// ---------------------------------------------------------------------------
// Raw objects

const OURS = defaultTranslateOptions.controllerName
const NAMESPACES = ["default", "team-a", "team-b", "tools"] as const
/** Listener protocols that discover Services (the others never reach one). */
const DISCOVERY_PROTOCOLS = new Set(["kgateway.dev/mcp", "agentgateway.dev/mcp", "kgateway.dev/a2a", "agentgateway.dev/a2a"])
const ns = fc.constantFrom(...NAMESPACES)
const maybe = <A>(arbitrary: fc.Arbitrary<A>) => fc.option(arbitrary, { nil: undefined })

interface Raw {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly labels?: Record<string, string>
    readonly annotations?: Record<string, string>
  }
  readonly spec?: unknown
}

/** `metadata.namespace`, sometimes left out for `default` as kubectl allows. */
const meta = (name: string, namespace: string, omitDefault: boolean, extra: object = {}) => ({
  name,
  ...(omitDefault && namespace === "default" ? {} : { namespace }),
  ...extra
})

const parametersRef = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.constant({ group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "self", namespace: "default" }) },
  {
    weight: 2,
    arbitrary: fc.record({
      group: fc.constant("gateway.kgateway.dev"),
      kind: fc.constant("GatewayParameters"),
      name: fc.constantFrom("self", "kube", "missing"),
      namespace: fc.constantFrom("default", "tools")
    })
  },
  { weight: 1, arbitrary: fc.constant({ group: "gateway.kgateway.dev", kind: "GatewayParameters", name: "self" }) },
  { weight: 1, arbitrary: fc.constant({ group: "example.com", kind: "Config", name: "self", namespace: "default" }) }
)
const selfManaged: Raw = {
  apiVersion: "gateway.kgateway.dev/v1alpha1",
  kind: "GatewayParameters",
  metadata: { name: "self", namespace: "default" },
  spec: { selfManaged: {} }
}
const gatewayClass = (name: fc.Arbitrary<string>, controllerName: fc.Arbitrary<string>) =>
  fc.record({ name, controllerName, parametersRef }).map(
    ({ controllerName, name, parametersRef }): Raw => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name },
      spec: { controllerName, ...(parametersRef === undefined ? {} : { parametersRef }) }
    })
  )

const mcpSettings = fc.record(
  {
    prefixMode: fc.constantFrom("Always", "Conditional", "Never"),
    sessionMode: fc.constantFrom("Stateful", "Stateless"),
    failureMode: fc.constantFrom("FailOpen", "FailClosed")
  },
  { requiredKeys: [] }
)
const gatewayParameters = fc
  .record({
    namespace: fc.constantFrom("default", "default", "default", "tools", "team-a"),
    name: fc.constantFrom("self", "self", "kube", "tuned"),
    mcp: maybe(mcpSettings)
  })
  .map(
    ({ mcp, name, namespace }): Raw => ({
      apiVersion: "gateway.kgateway.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name, namespace },
      spec: {
        ...(name === "self" ? { selfManaged: {} } : name === "kube" ? { kube: { agentgateway: { replicas: 1 } } } : {}),
        ...(mcp === undefined ? {} : { mcp })
      }
    })
  )

const selector = fc.oneof(
  fc.constant({ matchLabels: { team: "a" } }),
  fc.constant({ matchLabels: { team: "b", env: "prod" } }),
  ns.map((name) => ({ matchLabels: { "kubernetes.io/metadata.name": name } })),
  fc.constant({})
)
const allowedRoutes = fc.oneof(
  fc.constant({}),
  fc.constantFrom("Same", "All").map((from) => ({ namespaces: { from } })),
  selector.map((s) => ({ namespaces: { from: "Selector", selector: s } }))
)
const listener = fc
  .record({
    name: fc.constantFrom("mcp", "tools", "web"),
    port: fc.constantFrom(80, 8080, 9090),
    protocol: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom("kgateway.dev/mcp", "agentgateway.dev/mcp") },
      { weight: 2, arbitrary: fc.constantFrom("kgateway.dev/a2a", "agentgateway.dev/a2a") },
      { weight: 1, arbitrary: fc.constantFrom("HTTP", "TCP") }
    ),
    hostname: fc.constantFrom(undefined, undefined, "a.example.com", "b.example.com", "c.example.com"),
    allowedRoutes: maybe(allowedRoutes)
  })
  .map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)))
const gateway = fc
  .record({
    namespace: ns,
    omitDefault: fc.boolean(),
    name: fc.constantFrom("gw", "mcp", "edge"),
    className: fc.oneof(
      { weight: 5, arbitrary: fc.constant("agentplane") },
      { weight: 1, arbitrary: fc.constantFrom("agentplane-params", "foreign", "absent") }
    ),
    listeners: fc.array(listener, { minLength: 1, maxLength: 3 }),
    /** The Gateway's own parameters, layered over its class's. */
    infrastructure: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom("self", "tuned", "kube", "missing") })
  })
  .map(
    ({ className, infrastructure, listeners, name, namespace, omitDefault }): Raw => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: meta(name, namespace, omitDefault),
      spec: {
        gatewayClassName: className,
        listeners,
        ...(infrastructure === undefined
          ? {}
          : { infrastructure: { parametersRef: { group: "gateway.kgateway.dev", kind: "GatewayParameters", name: infrastructure } } })
      }
    })
  )

const namespaceObject = fc
  .record({
    name: ns,
    labels: fc.dictionary(fc.constantFrom("team", "env"), fc.constantFrom("a", "b", "prod"), { maxKeys: 2 })
  })
  .map(({ labels, name }): Raw => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }))

const APP_PROTOCOLS = [
  "kgateway.dev/mcp",
  "kgateway.dev/mcp-sse",
  "agentgateway.dev/mcp",
  "agentgateway.dev/mcp-sse",
  "kgateway.dev/a2a",
  "agentgateway.dev/a2a",
  "http"
]
const servicePort = fc.record({
  port: fc.constantFrom(80, 3000, 8080, 9000),
  name: maybe(fc.constantFrom("mcp", "sse", "http", "alt")),
  appProtocol: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...APP_PROTOCOLS.slice(0, 3)) },
    { weight: 2, arbitrary: fc.constantFrom(...APP_PROTOCOLS.slice(3)) },
    { weight: 1, arbitrary: fc.constant(undefined) }
  ),
  targetPort: maybe(fc.oneof(fc.constantFrom(8081, 9090), fc.constant("named-port")))
})
type ServicePort = typeof servicePort extends fc.Arbitrary<infer A> ? A : never

const serviceObject = (options: {
  readonly namespace: string
  readonly omitDefault: boolean
  readonly name: string
  readonly path: string | undefined
  readonly a2aPath?: string | undefined
  readonly shape: "ClusterIP" | "ExternalName" | "EmptyExternalName" | "Headless"
  readonly ports: ReadonlyArray<ServicePort>
}): Raw => {
  const names = new Set<string>()
  const ports = options.ports.map(({ name, ...port }) => {
    // Port names are unique within a Service.
    const unique = name !== undefined && !names.has(name) ? name : undefined
    if (unique !== undefined) names.add(unique)
    return Object.fromEntries(Object.entries({ ...port, name: unique }).filter(([, v]) => v !== undefined))
  })
  const shape =
    options.shape === "ExternalName"
      ? { type: "ExternalName", externalName: "api.example.com" }
      : options.shape === "EmptyExternalName"
        ? { type: "ExternalName" }
        : options.shape === "Headless"
          ? { clusterIP: "None" }
          : {}
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(
      options.name,
      options.namespace,
      options.omitDefault,
      options.path === undefined && options.a2aPath === undefined
        ? {}
        : {
            annotations: {
              ...(options.path === undefined ? {} : { "kgateway.dev/mcp-path": options.path }),
              ...(options.a2aPath === undefined ? {} : { "kgateway.dev/a2a-path": options.a2aPath })
            }
          }
    ),
    spec: { selector: { app: options.name }, ports, ...shape }
  }
}

const service = fc
  .record({
    namespace: ns,
    omitDefault: fc.boolean(),
    name: fc.constantFrom("everything", "weather", "search", "db"),
    path: fc.constantFrom(undefined, undefined, undefined, "/mcp", "/v1/mcp", "mcp", "/a b"),
    a2aPath: fc.constantFrom(undefined, undefined, undefined, "/", "/agent", "agent"),
    shape: fc.constantFrom(
      "ClusterIP" as const,
      "ClusterIP" as const,
      "ClusterIP" as const,
      "ExternalName" as const,
      "EmptyExternalName" as const,
      "Headless" as const
    ),
    ports: fc.uniqueArray(servicePort, { selector: (p) => p.port, maxLength: 3, size: "max" })
  })
  .map(serviceObject)

const identity = (raw: Raw) => `${raw.kind}/${raw.metadata.namespace ?? "default"}/${raw.metadata.name}`

/** A world's objects; identities are unique, as in an informer cache. */
const worldObjects = fc
  .tuple(
    // Usually one class of ours, plus others that may or may not be.
    fc.oneof({ weight: 9, arbitrary: gatewayClass(fc.constant("agentplane"), fc.constant(OURS)).map((c) => [c]) }, { weight: 1, arbitrary: fc.constant([]) }),
    fc.uniqueArray(gatewayClass(fc.constantFrom("agentplane-params", "foreign"), fc.constantFrom(OURS, "example.com/foreign-controller")), {
      selector: identity,
      maxLength: 2
    }),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant([selfManaged]) },
      { weight: 1, arbitrary: fc.uniqueArray(gatewayParameters, { selector: identity, maxLength: 2 }) }
    ),
    fc.oneof(
      { weight: 9, arbitrary: fc.uniqueArray(gateway, { selector: identity, minLength: 1, maxLength: 4, size: "max" }) },
      { weight: 1, arbitrary: fc.constant([]) }
    ),
    fc.uniqueArray(namespaceObject, { selector: identity, maxLength: 3, size: "max" }),
    fc.uniqueArray(service, { selector: identity, maxLength: 8, size: "max" })
  )
  .map((groups) => groups.flat())

const decode = (raw: Raw): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") assert.fail(`test generated an object the schema refuses: ${JSON.stringify(outcome)} from ${JSON.stringify(raw)}`)
  return outcome.object
}

const translateRaw = (raws: ReadonlyArray<Raw>): Translation => translate(worldFromObjects(raws.map(decode)), defaultTranslateOptions)

// ---------------------------------------------------------------------------
// Reading the output

type Kind = NonNullable<Resource["kind"]>
type ValueOf<C extends Kind["$case"]> = Extract<Kind, { $case: C }>["value"]

const ofKind = <C extends Kind["$case"]>(resources: ReadonlyArray<NamedResource>, kind: C): Array<ValueOf<C>> =>
  resources.flatMap(({ resource }) => (resource.kind?.$case === kind ? [resource.kind.value as ValueOf<C>] : []))

const encoded = (resources: ReadonlyArray<NamedResource>) =>
  resources.map(({ name, resource }) => [name, Buffer.from(Resource.encode(resource).finish()).toString("base64")])

const resourcesJson = (translation: Translation) =>
  [...translation.gateways].map(([key, resources]) => [key, resources.map((r) => [r.name, Resource.toJSON(r.resource)])])

const backendKeyOf = (ref: { kind?: { $case: string; value: unknown } | undefined } | undefined): string | undefined =>
  ref?.kind?.$case === "backend" ? (ref.kind.value as string) : undefined

/** A Service port a listener reaches: as an MCP target, or directly from a route (A2A). */
interface Reached {
  /** The MCP target name, or `route <path prefix>` for a route straight to the Service. */
  readonly name: string
  readonly backendKey: string
  readonly path: string
  readonly protocol: number
  /** Namespace of the Service, from its static Backend. */
  readonly namespace: string | undefined
}

/** What each listener key reaches, by following listener → route → backend (→ MCP targets → backend). */
const reachedByListener = (resources: ReadonlyArray<NamedResource>): Map<string, Array<Reached>> => {
  const backends = new Map(ofKind(resources, "backend").map((b) => [b.key, b]))
  const result = new Map<string, Array<Reached>>()
  for (const route of ofKind(resources, "route")) {
    const reached = result.get(route.listenerKey) ?? []
    for (const routeBackend of route.backends) {
      const backendKey = backendKeyOf(routeBackend.backend) ?? ""
      const backend = backends.get(backendKey)
      if (backend?.kind?.$case === "mcp") {
        for (const target of backend.kind.value.targets) {
          const targetKey = backendKeyOf(target.backend) ?? ""
          reached.push({
            name: target.name,
            backendKey: targetKey,
            path: target.path,
            protocol: target.protocol,
            namespace: backends.get(targetKey)?.name?.namespace
          })
        }
      } else {
        const prefix = route.matches.map((m) => m.path?.kind?.value ?? "").join(",")
        reached.push({ name: `route ${prefix}`, backendKey, path: "", protocol: 0, namespace: backend?.name?.namespace })
      }
    }
    result.set(route.listenerKey, reached)
  }
  return result
}

// ---------------------------------------------------------------------------
// A small model of namespace admission (allowedRoutes.namespaces)

type RawListener = {
  readonly name: string
  readonly protocol: string
  readonly allowedRoutes?: { namespaces?: { from?: string; selector?: { matchLabels?: Record<string, string> } } }
}

const namespaceLabels = (raws: ReadonlyArray<Raw>, namespace: string): Record<string, string> => ({
  ...raws.find((r) => r.kind === "Namespace" && r.metadata.name === namespace)?.metadata.labels,
  "kubernetes.io/metadata.name": namespace
})

const admits = (raws: ReadonlyArray<Raw>, gatewayNamespace: string, listener: RawListener, namespace: string): boolean => {
  const from = listener.allowedRoutes?.namespaces?.from ?? "Same"
  if (from === "All") return true
  if (from === "Same") return namespace === gatewayNamespace
  const labels = namespaceLabels(raws, namespace)
  return Object.entries(listener.allowedRoutes?.namespaces?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v)
}

const gatewaysOf = (raws: ReadonlyArray<Raw>) =>
  raws
    .filter((r) => r.kind === "Gateway")
    .map((r) => ({
      key: `${r.metadata.namespace ?? "default"}/${r.metadata.name}`,
      namespace: r.metadata.namespace ?? "default",
      listeners: (r.spec as { listeners: ReadonlyArray<RawListener> }).listeners
    }))

const discoveryListenerAdmits = (raws: ReadonlyArray<Raw>, gateway: ReturnType<typeof gatewaysOf>[number], namespace: string) =>
  gateway.listeners.some((l) => DISCOVERY_PROTOCOLS.has(l.protocol) && admits(raws, gateway.namespace, l, namespace))

// ---------------------------------------------------------------------------

/** Two Services with problems behind one listener; reversing the input reorders the status message. */
const statusOrderCounterexample: ReadonlyArray<Raw> = [
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "agentplane" },
    spec: { controllerName: OURS }
  },
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: "default" },
    spec: { gatewayClassName: "agentplane", listeners: [{ name: "mcp", port: 80, protocol: "kgateway.dev/mcp" }] }
  },
  serviceObject({
    namespace: "default",
    omitDefault: false,
    name: "everything",
    path: undefined,
    shape: "EmptyExternalName",
    ports: [{ port: 80, name: undefined, appProtocol: "kgateway.dev/mcp", targetPort: undefined }]
  }),
  serviceObject({
    namespace: "default",
    omitDefault: false,
    name: "weather",
    path: "mcp",
    shape: "ClusterIP",
    ports: [{ port: 80, name: undefined, appProtocol: "kgateway.dev/mcp", targetPort: undefined }]
  })
]

/** PROP_RUNS raises the number of runs for a deeper search. */
const RUNS = { numRuns: Number(process.env["PROP_RUNS"] ?? 300) }
const TARGET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

describe("translator", () => {
  it("never throws", () => {
    fc.assert(
      fc.property(worldObjects, (raws) => void translateRaw(raws)),
      RUNS
    )
  })

  const shuffled = worldObjects.chain((raws) => fc.tuple(fc.constant(raws), fc.shuffledSubarray(raws, { minLength: raws.length, maxLength: raws.length })))

  it("emits the same resources, byte for byte, whatever the order of its input objects", () => {
    fc.assert(
      fc.property(shuffled, ([raws, reordered]) => {
        const a = translateRaw(raws)
        const b = translateRaw(reordered)
        assert.deepStrictEqual([...b.gateways.keys()], [...a.gateways.keys()])
        for (const [key, resources] of a.gateways) {
          assert.deepStrictEqual(encoded(b.gateways.get(key)!), encoded(resources), `bytes of ${key}`)
        }
        assert.deepStrictEqual(resourcesJson(b), resourcesJson(a))
      }),
      RUNS
    )
  })

  // Regression: Service problems in a listener's ResolvedRefs message once followed World order;
  // the counterexample runs first.
  it("reports the same statuses whatever the order of its input objects", () => {
    fc.assert(
      fc.property(shuffled, ([raws, reordered]) => {
        assert.deepStrictEqual(translateRaw(reordered).statuses, translateRaw(raws).statuses)
      }),
      { ...RUNS, examples: [[[statusOrderCounterexample, [...statusOrderCounterexample].reverse()]]] }
    )
  })

  it("emits resources that round-trip through protobuf", () => {
    fc.assert(
      fc.property(worldObjects, (raws) => {
        for (const resources of translateRaw(raws).gateways.values()) {
          for (const { resource } of resources) {
            const decoded = Resource.decode(Resource.encode(resource).finish())
            assert.deepStrictEqual(Resource.toJSON(decoded), Resource.toJSON(resource))
          }
        }
      }),
      RUNS
    )
  })

  it("links resolve within each gateway and required fields are set", () => {
    fc.assert(
      fc.property(worldObjects, (raws) => {
        for (const [gateway, resources] of translateRaw(raws).gateways) {
          const names = resources.map((r) => r.name)
          assert.deepStrictEqual(names, [...new Set(names)].sort(), `${gateway}: names sorted and unique`)
          for (const { name, resource } of resources) {
            const key = (resource.kind?.value as { key?: string } | undefined)?.key
            assert.strictEqual(name, `${resource.kind?.$case}/${key}`, "xDS name is <kind>/<key>")
          }
          const binds = new Set(ofKind(resources, "bind").map((b) => b.key))
          const listeners = new Set(ofKind(resources, "listener").map((l) => l.key))
          const backends = new Set(ofKind(resources, "backend").map((b) => b.key))
          for (const l of ofKind(resources, "listener")) {
            assert.isTrue(binds.has(l.bindKey), `${gateway}: listener ${l.key} → bind ${l.bindKey}`)
            assert.isDefined(l.name, `${gateway}: listener ${l.key} has a name`)
            assert.notStrictEqual(l.protocol, Protocol.UNKNOWN)
          }
          for (const r of ofKind(resources, "route")) {
            assert.isTrue(listeners.has(r.listenerKey), `${gateway}: route ${r.key} → listener ${r.listenerKey}`)
            assert.isDefined(r.name, `${gateway}: route ${r.key} has a name`)
            assert.isAtLeast(r.matches.length, 1, `${gateway}: route ${r.key} has a match`)
            for (const rb of r.backends) {
              const ref = backendKeyOf(rb.backend)
              if (ref !== undefined) assert.isTrue(backends.has(ref), `${gateway}: route ${r.key} → backend ${ref}`)
              assert.isAtLeast(rb.weight, 1)
            }
          }
          for (const b of ofKind(resources, "backend")) {
            assert.isDefined(b.name, `${gateway}: backend ${b.key} has a name`)
            if (b.kind?.$case !== "mcp") continue
            for (const target of b.kind.value.targets) {
              const ref = backendKeyOf(target.backend)
              assert.isDefined(ref, `${gateway}: target ${target.name} names a backend`)
              assert.isTrue(backends.has(ref!), `${gateway}: target ${target.name} → backend ${ref}`)
            }
          }
        }
      }),
      RUNS
    )
  })

  it("names MCP targets validly and uniquely within a backend", () => {
    fc.assert(
      fc.property(worldObjects, (raws) => {
        for (const [gateway, resources] of translateRaw(raws).gateways) {
          for (const b of ofKind(resources, "backend")) {
            if (b.kind?.$case !== "mcp") continue
            const names = b.kind.value.targets.map((t) => t.name)
            for (const name of names) {
              assert.match(name, TARGET_NAME)
              assert.isAtMost(name.length, 253)
            }
            assert.strictEqual(new Set(names).size, names.length, `${gateway}: backend ${b.key} has duplicate targets ${names}`)
          }
        }
      }),
      RUNS
    )
  })

  it("never leaks a Service from a namespace a listener does not admit", () => {
    fc.assert(
      fc.property(worldObjects, (raws) => {
        const translation = translateRaw(raws)
        for (const gw of gatewaysOf(raws)) {
          const resources = translation.gateways.get(gw.key)
          if (resources === undefined) continue
          const reached = reachedByListener(resources)
          for (const l of ofKind(resources, "listener")) {
            // The first listener of a name is the one served (later duplicates are refused).
            const input = gw.listeners.find((candidate) => candidate.name === l.name?.listenerName)!
            for (const target of reached.get(l.key) ?? []) {
              assert.isDefined(target.namespace)
              if (!target.name.startsWith("route ")) {
                assert.isTrue(target.name.endsWith(`.${target.namespace}`), `target ${target.name} is in ${target.namespace}`)
              }
              assert.isTrue(
                admits(raws, gw.namespace, input, target.namespace!),
                `${gw.key} listener ${input.name} serves ${target.name} from ${target.namespace}`
              )
            }
          }
        }
      }),
      RUNS
    )
  })

  it("isolates gateways: removing a Gateway leaves every other gateway's bytes alone", () => {
    fc.assert(
      fc.property(worldObjects, fc.nat(), (raws, pick) => {
        const gateways = raws.filter((r) => r.kind === "Gateway")
        fc.pre(gateways.length > 0)
        const removed = gateways[pick % gateways.length]!
        const before = translateRaw(raws)
        const after = translateRaw(raws.filter((r) => r !== removed))
        const removedKey = `${removed.metadata.namespace ?? "default"}/${removed.metadata.name}`
        assert.isFalse(after.gateways.has(removedKey))
        const others = [...before.gateways.keys()].filter((key) => key !== removedKey)
        assert.deepStrictEqual([...after.gateways.keys()], others)
        for (const key of others) assert.deepStrictEqual(encoded(after.gateways.get(key)!), encoded(before.gateways.get(key)!), key)
      }),
      RUNS
    )
  })

  it("isolates gateways: removing a Service changes only gateways with a discovery listener that admits it", () => {
    fc.assert(
      fc.property(worldObjects, fc.nat(), (raws, pick) => {
        const services = raws.filter((r) => r.kind === "Service")
        fc.pre(services.length > 0)
        const removed = services[pick % services.length]!
        const namespace = removed.metadata.namespace ?? "default"
        const before = translateRaw(raws)
        const after = translateRaw(raws.filter((r) => r !== removed))
        assert.deepStrictEqual([...after.gateways.keys()], [...before.gateways.keys()])
        for (const gw of gatewaysOf(raws)) {
          if (discoveryListenerAdmits(raws, gw, namespace) || !before.gateways.has(gw.key)) continue
          assert.deepStrictEqual(encoded(after.gateways.get(gw.key)!), encoded(before.gateways.get(gw.key)!), gw.key)
        }
      }),
      RUNS
    )
  })

  it("keeps MCP target names (and A2A route prefixes) stable when another Service appears", () => {
    const added = fc
      .record({
        namespace: ns,
        omitDefault: fc.boolean(),
        name: fc.constantFrom("added", "newcomer"),
        path: maybe(fc.constantFrom("/mcp", "/v2/mcp")),
        shape: fc.constantFrom("ClusterIP" as const, "ExternalName" as const),
        ports: fc.uniqueArray(
          fc
            .tuple(servicePort, fc.constantFrom("kgateway.dev/mcp", "kgateway.dev/mcp-sse", "kgateway.dev/a2a"))
            .map(([p, appProtocol]) => ({ ...p, appProtocol })),
          { selector: (p) => p.port, minLength: 1, maxLength: 2 }
        )
      })
      .map(serviceObject)
    fc.assert(
      fc.property(worldObjects, added, (raws, extra) => {
        const before = translateRaw(raws)
        const after = translateRaw([...raws, extra])
        for (const [key, resources] of before.gateways) {
          const targetsAfter = reachedByListener(after.gateways.get(key)!)
          for (const [listenerKey, targets] of reachedByListener(resources)) {
            const now = targetsAfter.get(listenerKey) ?? []
            for (const target of targets) {
              assert.deepInclude(now, target, `${key} listener ${listenerKey} lost or renamed ${target.name}`)
            }
          }
        }
      }),
      RUNS
    )
  })
})
