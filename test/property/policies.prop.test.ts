// Property tests of policy translation over random Worlds: every emitted Policy survives the wire
// and names a target and a kind, keys are unique, a policy reaches only the proxies of Gateways
// it targets, and the JWKS fetches named are one per URL.
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import { Resource } from "../../src/gen/agentgateway/resource.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { makePolicyTranslator } from "../../src/translate/policies/policies.ts"
import { jwksRequestKey, remoteJwksRequests } from "../../src/translate/policies/remoteJwks.ts"
import { translate } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/world/world.ts"

const NAMESPACES = ["a", "b"] as const
const GATEWAYS = ["g1", "g2", "theirs"] as const

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

const classes = [
  decoded({ apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "mcp" }, spec: { controllerName: "kgateway.dev/kgateway" } }),
  decoded({ apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "other" }, spec: { controllerName: "example.com/other" } })
]

const gatewayArb = fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...GATEWAYS) }).map(({ name, namespace }) =>
  decoded({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name, namespace },
    spec: {
      gatewayClassName: name === "theirs" ? "other" : "mcp",
      listeners: [
        { name: "l1", port: 8080, protocol: "kgateway.dev/mcp" },
        { name: "l2", port: 8081, protocol: "kgateway.dev/mcp" }
      ]
    }
  })
)

const targetArb = fc
  .record({ name: fc.constantFrom(...GATEWAYS, "missing"), sectionName: fc.constantFrom(undefined, "l1", "l2", "nope") })
  .map(({ name, sectionName }) => ({ group: "gateway.networking.k8s.io", kind: "Gateway", name, ...(sectionName === undefined ? {} : { sectionName }) }))

const locationArb = fc.constantFrom(undefined, { header: { name: "X-Key", prefix: "Key " } }, { queryParameter: { name: "k" } }, { cookie: { name: "c" } })

const trafficArb = fc.record(
  {
    phase: fc.constantFrom("PreRouting", "PostRouting"),
    jwtAuthentication: fc.record({
      mode: fc.constantFrom("Strict", "Optional", "Permissive"),
      providers: fc.array(
        fc.oneof(
          fc.constant({
            issuer: "https://i",
            audiences: ["a"],
            jwks: { inline: '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}' }
          }),
          fc.constantFrom("idp", "absent").map((name) => ({ issuer: "https://r", jwks: { remote: { backendRef: { name, port: 8443 }, jwksPath: "/jwks" } } }))
        ),
        { minLength: 1, maxLength: 2 }
      )
    }),
    authorization: fc.record({
      action: fc.constantFrom("Allow", "Deny", "Require"),
      policy: fc.record({
        matchExpressions: fc.array(fc.constantFrom("jwt.sub == 'x'", "true", "request.path.startsWith('/a')"), { minLength: 1, maxLength: 3 })
      })
    }),
    apiKeyAuthentication: fc.record({ secretRef: fc.constant({ name: "keys" }), location: locationArb }, { requiredKeys: ["secretRef"] }),
    basicAuthentication: fc.constantFrom({ users: ["u:{SHA}x"] }, { secretRef: { name: "keys", key: "htpasswd" } }),
    cors: fc.record({ allowOrigins: fc.constant(["https://a.example.com"]), maxAge: fc.integer({ min: 1, max: 1000 }) }),
    rateLimit: fc.record({
      local: fc.array(fc.record({ requests: fc.integer({ min: 1, max: 100 }), unit: fc.constantFrom("Seconds", "Minutes", "Hours") }), {
        minLength: 1,
        maxLength: 2
      })
    })
  },
  { requiredKeys: [] }
)

const backendArb = fc.record(
  {
    mcp: fc.record({ authorization: fc.record({ policy: fc.record({ matchExpressions: fc.constant(["mcp.tool.name == 'echo'"]) }) }) }),
    auth: fc.constantFrom({ passthrough: {} }, { key: "k" }, { secretRef: { name: "keys" } }, { secretRef: { name: "absent" } })
  },
  { requiredKeys: [] }
)

const policyArb = fc
  .record({
    name: fc.constantFrom("p1", "p2", "p3"),
    namespace: fc.constantFrom(...NAMESPACES),
    targetRefs: fc.uniqueArray(targetArb, { minLength: 1, maxLength: 4, selector: (t) => JSON.stringify(t) }),
    traffic: fc.option(trafficArb, { nil: undefined }),
    backend: fc.option(backendArb, { nil: undefined })
  })
  .map(({ backend, name, namespace, targetRefs, traffic }) => {
    const spec = { targetRefs, ...(traffic === undefined ? {} : { traffic }), ...(backend === undefined ? {} : { backend }) }
    return decodeObject({ apiVersion: "agentgateway.dev/v1alpha1", kind: "AgentgatewayPolicy", metadata: { name, namespace }, spec })
  })

const secretArb = fc
  .constantFrom(...NAMESPACES)
  .map((namespace) => decoded({ apiVersion: "v1", kind: "Secret", metadata: { name: "keys", namespace }, stringData: { ci: "k-1", htpasswd: "u:{SHA}x" } }))

const idpArb = fc
  .constantFrom(...NAMESPACES)
  .map((namespace) =>
    decoded({ apiVersion: "v1", kind: "Service", metadata: { name: "idp", namespace }, spec: { type: "ExternalName", externalName: "localhost" } })
  )

const worldArb = fc
  .record({
    gateways: fc.array(gatewayArb, { maxLength: 5 }),
    policies: fc.array(policyArb, { minLength: 1, maxLength: 6 }),
    secrets: fc.array(secretArb, { maxLength: 2 }),
    idps: fc.array(idpArb, { maxLength: 2 })
  })
  .map(({ gateways, idps, policies, secrets }) =>
    worldFromObjects([...classes, ...gateways, ...secrets, ...idps, ...policies.flatMap((outcome) => (outcome._tag === "Decoded" ? [outcome.object] : []))])
  )

describe("policy translation", () => {
  it("emits Policies that survive the wire, with unique keys, only to the Gateways their policy targets", () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const byGateway = makePolicyTranslator()(world, defaultTranslateOptions).byGateway
        const translation = translate(world, defaultTranslateOptions)
        for (const [gatewayKey, resources] of byGateway) {
          const [namespace, name] = gatewayKey.split("/") as [string, string]
          expect(new Set(resources.map((r) => r.name)).size).toBe(resources.length)
          for (const { name: xdsName, resource } of resources) {
            const wire = Resource.decode(Resource.encode(resource).finish())
            expect(Resource.toJSON(wire)).toEqual(Resource.toJSON(resource))
            if (wire.kind?.$case !== "policy") throw new Error(`${xdsName} is not a policy`)
            const policy = wire.kind.value
            expect(xdsName).toBe(`policy/${policy.key}`)
            expect(policy.kind).toBeDefined()
            const target = policy.target?.kind
            if (target?.$case !== "gateway") throw new Error(`${xdsName} has no gateway target`)
            expect([target.value.namespace, target.value.name]).toEqual([namespace, name])
            const source = world.agentgatewayPolicies.get(`${policy.name!.namespace}/${policy.name!.name}`)!
            expect(policy.name!.namespace).toBe(namespace)
            expect(source.spec.targetRefs!.some((ref) => ref.name === name && (ref.sectionName ?? undefined) === (target.value.listener ?? undefined))).toBe(
              true
            )
          }
          // What the Gateway's proxies are sent holds exactly these policies.
          const sent = (translation.gateways.get(gatewayKey) ?? []).filter((r) => r.name.startsWith("policy/"))
          if (translation.gateways.has(gatewayKey)) expect(sent.map((r) => r.name)).toEqual(resources.map((r) => r.name))
        }
        // No Gateway gets a policy that is not in its own list.
        for (const [gatewayKey, resources] of translation.gateways) {
          const own = new Set((byGateway.get(gatewayKey) ?? []).map((r) => r.name))
          for (const resource of resources) if (resource.name.startsWith("policy/")) expect(own.has(resource.name)).toBe(true)
        }
        expect(byGateway.has("a/theirs") || byGateway.has("b/theirs")).toBe(false)
      }),
      { numRuns: 300 }
    )
  })

  it("names one JWKS fetch per URL, keyed by the URL's SHA-256", () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const requests = remoteJwksRequests(world, defaultTranslateOptions)
        expect(new Set(requests.map((r) => r.url)).size).toBe(requests.length)
        for (const request of requests) {
          expect(request.key).toBe(jwksRequestKey(request.url))
          expect(request.url).toBe("http://localhost:8443/jwks")
          expect(request.refreshMs).toBe(300_000)
        }
      }),
      { numRuns: 200 }
    )
  })
})
