// The remembering translator (used by `serve`) gives exactly what a fresh
// translation gives, through any sequence of changes — and hands back the
// very same objects for Gateways none of whose inputs changed, and for
// statuses that did not change.
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import { Resource } from "../../src/gen/agentgateway/resource.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { statusKey } from "../../src/translate/status.ts"
import { makeTranslator, translate, type Translation } from "../../src/translate/translate.ts"
import { objectId, worldFromObjects } from "../../src/world/world.ts"
import { withChanges } from "../../src/world/worldChanges.ts"
import type { JwksKeySet } from "../../src/world/jwksKeySets.ts"
import { jwksRequestKey } from "../../src/translate/policies/remoteJwks.ts"

const NAMESPACES = ["a", "b", "c"] as const

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

const gatewayClass = decoded({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: "mcp" },
  spec: { controllerName: "kgateway.dev/kgateway" }
})

const gatewayArb = fc
  .record({
    namespace: fc.constantFrom(...NAMESPACES),
    from: fc.constantFrom("Same", "All", "Selector"),
    protocol: fc.constantFrom("kgateway.dev/mcp", "kgateway.dev/a2a")
  })
  .map(({ from, namespace, protocol }) =>
    decoded({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace },
      spec: {
        gatewayClassName: "mcp",
        listeners: [
          {
            name: "l",
            port: 8080,
            protocol,
            allowedRoutes: { namespaces: from === "Selector" ? { from, selector: { matchLabels: { team: "x" } } } : { from } }
          }
        ]
      }
    })
  )

const serviceArb = fc
  .record({
    name: fc.constantFrom("s1", "s2", "s3"),
    namespace: fc.constantFrom(...NAMESPACES),
    port: fc.integer({ min: 1, max: 3 }),
    appProtocol: fc.constantFrom("kgateway.dev/mcp", "kgateway.dev/a2a", "kgateway.dev/mcp-sse")
  })
  .map(({ appProtocol, name, namespace, port }) =>
    decoded({ apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { ports: [{ port, appProtocol }] } })
  )

const namespaceArb = fc
  .record({ name: fc.constantFrom(...NAMESPACES), labelled: fc.boolean() })
  .map(({ labelled, name }) => decoded({ apiVersion: "v1", kind: "Namespace", metadata: { name, ...(labelled ? { labels: { team: "x" } } : {}) } }))

const gatewayTarget = fc
  .record({ name: fc.constantFrom("gw", "gw", "gw", "missing"), sectionName: fc.constantFrom(undefined, undefined, "l", "nope") })
  .map(({ name, sectionName }) => ({ group: "gateway.networking.k8s.io", kind: "Gateway", name, ...(sectionName === undefined ? {} : { sectionName }) }))

/** Policies that read Secrets, Services (remote JWKS) and key sets, or are refused (bad CEL). */
const policyArb = fc
  .record({
    name: fc.constantFrom("p1", "p2"),
    namespace: fc.constantFrom(...NAMESPACES),
    targets: fc.uniqueArray(gatewayTarget, { minLength: 1, maxLength: 2, selector: (t) => JSON.stringify(t) }),
    part: fc.constantFrom("apiKey", "jwtRemote", "jwtRemote", "cors", "badCel", "upstream"),
    port: fc.integer({ min: 1, max: 2 })
  })
  .map(({ name, namespace, part, port, targets }) =>
    decoded({
      apiVersion: "agentgateway.dev/v1alpha1",
      kind: "AgentgatewayPolicy",
      metadata: { name, namespace },
      spec: {
        targetRefs: targets,
        ...(part === "apiKey"
          ? { traffic: { apiKeyAuthentication: { secretRef: { name: "keys" } } } }
          : part === "jwtRemote"
            ? { traffic: { jwtAuthentication: { providers: [{ issuer: "i", jwks: { remote: { backendRef: { name: "s1", port }, jwksPath: "/keys" } } }] } } }
            : part === "cors"
              ? { traffic: { cors: { allowOrigins: ["https://a.example.com"] } } }
              : part === "badCel"
                ? { backend: { mcp: { authorization: { policy: { matchExpressions: ["mcp.tool.name =="] } } } } }
                : { backend: { auth: { secretRef: { name: "keys", key: "k" } } } })
      }
    })
  )

const secretArb = fc
  .record({ namespace: fc.constantFrom(...NAMESPACES), value: fc.constantFrom("k-1", "k-2") })
  .map(({ namespace, value }) => decoded({ apiVersion: "v1", kind: "Secret", metadata: { name: "keys", namespace }, stringData: { k: value } }))

/** A fetched (or failed) key set for what a jwtRemote policy in `namespace` fetches through s1:`port`. */
const keySetArb = fc.record({
  keySet: fc.record({
    namespace: fc.constantFrom(...NAMESPACES),
    port: fc.integer({ min: 1, max: 2 }),
    fetched: fc.boolean()
  })
})

/** Put an object (replacing one of the same identity) or remove it, or change the fetched key sets. */
const editArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ put: fc.oneof(gatewayArb, serviceArb, serviceArb, namespaceArb, policyArb, policyArb, secretArb, secretArb) }) },
  { weight: 2, arbitrary: fc.record({ remove: fc.oneof(gatewayArb, serviceArb, namespaceArb, policyArb, secretArb) }) },
  { weight: 2, arbitrary: keySetArb },
  // Services alone: the partial pass, and remote JWKS fetched through a Service that goes.
  { weight: 2, arbitrary: fc.oneof(fc.record({ put: serviceArb }), fc.record({ remove: serviceArb })) }
)

const comparable = (translation: Translation) => ({
  gateways: [...translation.gateways].map(([name, resources]) => [name, resources.map((r) => [r.name, Resource.toJSON(r.resource)])]),
  statuses: translation.statuses
})

/** Gateways and the Services remote JWKS are fetched through, in every namespace, for the runs that start with them. */
const populated: ReadonlyArray<InputObject> = NAMESPACES.flatMap((namespace) => [
  decoded({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace },
    spec: { gatewayClassName: "mcp", listeners: [{ name: "l", port: 8080, protocol: "kgateway.dev/mcp" }] }
  }),
  decoded({ apiVersion: "v1", kind: "Service", metadata: { name: "s1", namespace }, spec: { ports: [{ port: 1, appProtocol: "kgateway.dev/mcp" }] } })
])

describe("makeTranslator", () => {
  it("equals a fresh translation after every change, and reuses untouched Gateways' results", () => {
    fc.assert(
      fc.property(fc.array(editArb, { minLength: 1, maxLength: 15 }), fc.boolean(), (edits, startPopulated) => {
        const translator = makeTranslator()
        const start = [gatewayClass, ...(startPopulated ? populated : [])]
        let world = worldFromObjects(start)
        const objects = new Map<string, InputObject>(start.map((object) => [objectId(object), object]))
        let previous = translator(world, defaultTranslateOptions)
        let keySets = new Map<string, JwksKeySet>()
        for (const edit of edits) {
          if ("keySet" in edit) {
            const { fetched, namespace, port } = edit.keySet
            const key = jwksRequestKey(`http://s1.${namespace}.svc.cluster.local:${port}/keys`)
            keySets = new Map(keySets)
            keySets.set(
              key,
              fetched
                ? {
                    jwks: `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"${port}","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
                    fetchedAt: "2026-01-01T00:00:00Z"
                  }
                : { error: "connection refused" }
            )
            world = { ...world, jwksKeySets: keySets }
            const incremental = translator(world, defaultTranslateOptions)
            expect(comparable(incremental)).toEqual(
              comparable(translate({ ...worldFromObjects(objects.values()), jwksKeySets: keySets }, defaultTranslateOptions))
            )
            previous = incremental
            continue
          }
          const object = "put" in edit ? edit.put : edit.remove
          const id = objectId(object)
          const before = objects.get(id)
          const after = "put" in edit ? object : undefined
          if (after === undefined) objects.delete(id)
          else objects.set(id, after)
          world = withChanges(world, [{ before, after }])
          const incremental = translator(world, defaultTranslateOptions)
          expect(comparable(incremental)).toEqual(
            comparable(translate({ ...worldFromObjects(objects.values()), jwksKeySets: keySets }, defaultTranslateOptions))
          )
          // A Service edit leaves the results of Same-namespace Gateways in other namespaces untouched: the same objects.
          if (object.kind === "Service") {
            for (const [key, resources] of incremental.gateways) {
              const gateway = objects.get(`Gateway/${key}`)
              const from = gateway?.kind === "Gateway" ? gateway.spec.listeners[0]?.allowedRoutes?.namespaces?.from : undefined
              const untouched = from === "Same" && key.split("/")[0] !== object.metadata.namespace && previous.gateways.has(key)
              if (untouched) expect(resources).toBe(previous.gateways.get(key))
            }
          }
          // A status entry whose content did not change is the very same object (the status writer
          // and the store skip those by identity); a changed one is new.
          const earlier = new Map(previous.statuses.map((entry) => [statusKey(entry), entry]))
          for (const entry of incremental.statuses) {
            const old = earlier.get(statusKey(entry))
            if (old === undefined) continue
            if (JSON.stringify(old) === JSON.stringify(entry)) expect(entry).toBe(old)
            else expect(entry).not.toBe(old)
          }
          previous = incremental
        }
      }),
      { numRuns: 300 }
    )
  })
})
