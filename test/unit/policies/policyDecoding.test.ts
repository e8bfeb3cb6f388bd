// AgentgatewayPolicy and Secret decode at the boundary: upstream field names, the upstream CRD's
// one-of rules as decode problems naming the field, unsupported upstream fields kept (so the
// translator can refuse them by name), unknown fields ignored, and no Secret value in a message.
import { describe, expect, it } from "vitest"
import { decodeObject } from "../../../src/api/objects.ts"
import { withChanges } from "../../../src/world/worldChanges.ts"
import { emptyWorld, worldFromObjects } from "../../../src/world/world.ts"
import { decoded } from "../../support/decoded.ts"

const policy = (spec: unknown) => ({
  apiVersion: "agentgateway.dev/v1alpha1",
  kind: "AgentgatewayPolicy",
  metadata: { name: "p", namespace: "ns" },
  spec
})
const gatewayRef = { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }

const issuesOf = (raw: unknown) => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Invalid") throw new Error(`expected a problem, got ${outcome._tag}`)
  return outcome.issues
}

describe("AgentgatewayPolicy decoding", () => {
  it("reads the supported subset under upstream names", () => {
    const object = decoded(
      policy({
        targetRefs: [{ ...gatewayRef, sectionName: "mcp" }],
        traffic: {
          phase: "PreRouting",
          jwtAuthentication: {
            mode: "Strict",
            providers: [
              { issuer: "https://idp", audiences: ["a"], jwks: { remote: { backendRef: { name: "idp", port: 80 }, jwksPath: "/keys", cacheDuration: "10m" } } }
            ],
            mcp: { provider: "Keycloak", resourceMetadata: { scopesSupported: ["read"] } }
          },
          authorization: { action: "Require", policy: { matchExpressions: ["jwt.sub != ''"] } },
          cors: { allowOrigins: ["https://app.example.com"], allowMethods: ["GET", "POST"], maxAge: 60 },
          rateLimit: { local: [{ requests: 5, unit: "Minutes", burst: 2 }] }
        },
        backend: { mcp: { authorization: { policy: { matchExpressions: ["mcp.tool.name == 'echo'"] } } }, auth: { secretRef: { name: "upstream" } } }
      })
    )
    expect(object.kind).toBe("AgentgatewayPolicy")
    if (object.kind !== "AgentgatewayPolicy") return
    expect(object.spec.traffic?.jwtAuthentication?.providers[0]?.jwks.remote?.jwksPath).toBe("/keys")
    expect(object.spec.backend?.auth?.secretRef?.name).toBe("upstream")
  })

  it("keeps an unsupported upstream field, so it can be refused by name, and ignores fields upstream does not have", () => {
    const object = decoded(policy({ targetRefs: [gatewayRef], traffic: { timeouts: { request: "5s" }, madeUp: true }, backend: { tls: {} } }))
    if (object.kind !== "AgentgatewayPolicy") throw new Error("not a policy")
    expect(object.spec.traffic?.timeouts).toEqual({ request: "5s" })
    expect(object.spec.backend?.tls).toEqual({})
    expect(object.spec.traffic).not.toHaveProperty("madeUp")
  })

  it("reports the upstream CRD's one-of rules as problems naming the field", () => {
    expect(issuesOf(policy({ targetRefs: [gatewayRef], traffic: { jwtAuthentication: { providers: [{ issuer: "i", jwks: {} }] } } }))).toEqual([
      { field: "spec.traffic.jwtAuthentication.providers[0].jwks", message: "exactly one of inline, remote must be set (found none)" }
    ])
    expect(
      issuesOf(
        policy({
          targetRefs: [gatewayRef],
          traffic: { jwtAuthentication: { mode: "Optional", providers: [{ issuer: "i", jwks: { inline: "{}" } }], mcp: {} } }
        })
      )[0]
    ).toEqual({ field: "spec.traffic.jwtAuthentication", message: "mcp requires mode Strict" })
    expect(issuesOf(policy({ targetRefs: [gatewayRef, { ...gatewayRef, kind: "HTTPRoute" }], traffic: { cors: {} } }))[0]?.field).toBe("spec.targetRefs")
    expect(issuesOf(policy({ targetRefs: [gatewayRef] }))[0]).toEqual({ field: "spec", message: "at least one of traffic or backend must be set" })
    expect(issuesOf(policy({ targetRefs: [gatewayRef], traffic: { rateLimit: { local: [{ unit: "Seconds" }] } } }))[0]?.field).toBe(
      "spec.traffic.rateLimit.local[0]"
    )
  })

  it("ignores a same-named kind of another group", () => {
    expect(decodeObject({ ...policy({}), apiVersion: "example.com/v1" })._tag).toBe("Ignored")
  })
})

describe("Secret decoding", () => {
  it("never repeats a value in a problem", () => {
    const issues = issuesOf({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: "sup3r-s3cret!!" }, stringData: { b: 42 } })
    expect(issues.map((issue) => issue.field)).toEqual(["data.a", "stringData.b"])
    expect(JSON.stringify(issues)).not.toContain("sup3r-s3cret")
  })

  it("lands in the World by namespace/name, as policies do, and follows changes", () => {
    const secret = decoded({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "ns" }, stringData: { k: "v" } })
    const p = decoded(policy({ targetRefs: [gatewayRef], traffic: { cors: {} } }))
    const world = worldFromObjects([secret, p])
    expect([...world.secrets.keys()]).toEqual(["ns/s"])
    expect([...world.agentgatewayPolicies.keys()]).toEqual(["ns/p"])
    const next = withChanges(emptyWorld, [
      { before: undefined, after: secret },
      { before: undefined, after: p }
    ])
    expect(next.secrets.get("ns/s")).toBe(secret)
    expect(withChanges(next, [{ before: p, after: undefined }]).agentgatewayPolicies.size).toBe(0)
  })
})
