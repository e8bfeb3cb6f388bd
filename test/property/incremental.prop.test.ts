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

/** Put an object (replacing one of the same identity) or remove it. */
const editArb = fc.oneof(
  fc.record({ put: fc.oneof(gatewayArb, serviceArb, serviceArb, namespaceArb) }),
  fc.record({ remove: fc.oneof(gatewayArb, serviceArb, namespaceArb) })
)

const comparable = (translation: Translation) => ({
  gateways: [...translation.gateways].map(([name, resources]) => [name, resources.map((r) => [r.name, Resource.toJSON(r.resource)])]),
  statuses: translation.statuses
})

describe("makeTranslator", () => {
  it("equals a fresh translation after every change, and reuses untouched Gateways' results", () => {
    fc.assert(
      fc.property(fc.array(editArb, { minLength: 1, maxLength: 15 }), (edits) => {
        const translator = makeTranslator()
        let world = worldFromObjects([gatewayClass])
        const objects = new Map<string, InputObject>([[objectId(gatewayClass), gatewayClass]])
        let previous = translator(world, defaultTranslateOptions)
        for (const edit of edits) {
          const object = "put" in edit ? edit.put : edit.remove
          const id = objectId(object)
          const before = objects.get(id)
          const after = "put" in edit ? object : undefined
          if (after === undefined) objects.delete(id)
          else objects.set(id, after)
          world = withChanges(world, [{ before, after }])
          const incremental = translator(world, defaultTranslateOptions)
          expect(comparable(incremental)).toEqual(comparable(translate(worldFromObjects(objects.values()), defaultTranslateOptions)))
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
