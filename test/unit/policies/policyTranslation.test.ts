// Policy translation details the golden files cannot show on their own: remote key sets inlined
// once fetched (and named while not), the URL agentplane fetches, the ExternalName host policy,
// CEL errors, and credentials kept out of render output while the proxy gets them.
import { describe, expect, it } from "vitest"
import { Resource } from "../../../src/gen/agentgateway/resource.ts"
import { redactSecrets, REDACTED } from "../../../src/translate/policies/redact.ts"
import { celProblem } from "../../../src/translate/policies/cel.ts"
import { jwksRequestKey, remoteJwksRequests } from "../../../src/translate/policies/remoteJwks.ts"
import { defaultTranslateOptions, type TranslateOptions } from "../../../src/translate/options.ts"
import { statusesWithProblems, type ObjectStatus } from "../../../src/translate/status.ts"
import { translate } from "../../../src/translate/translate.ts"
import { worldFromObjects, type World } from "../../../src/world/world.ts"
import { decoded, mcpGatewayClass } from "../../support/decoded.ts"
import { configDump } from "../../../src/admin/configDump.ts"
import { buildSnapshot, emptySnapshot } from "../../../src/xds/snapshot.ts"

const gateway = decoded({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "gw", namespace: "ns" },
  spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
})
const idp = (spec: object) => decoded({ apiVersion: "v1", kind: "Service", metadata: { name: "idp", namespace: "ns" }, spec })
const remotePolicy = (name: string, cacheDuration?: string, jwksPath = "/keys") =>
  decoded({
    apiVersion: "agentgateway.dev/v1alpha1",
    kind: "AgentgatewayPolicy",
    metadata: { name, namespace: "ns" },
    spec: {
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }],
      traffic: {
        jwtAuthentication: {
          providers: [
            {
              issuer: "https://idp",
              jwks: { remote: { backendRef: { name: "idp", port: 8443 }, jwksPath, ...(cacheDuration === undefined ? {} : { cacheDuration }) } }
            }
          ]
        }
      }
    }
  })

const policyStatusOf = (statuses: ReadonlyArray<ObjectStatus>, name: string) => {
  const entry = statuses.find((s) => s.kind === "AgentgatewayPolicy" && s.name === name)
  if (entry === undefined || !("ancestors" in entry.status)) throw new Error(`no status for ${name}`)
  return entry.status.ancestors[0]!.conditions.find((c) => c.type === "Accepted")!
}

const jwtOf = (world: World) => {
  const policy = translate(world, defaultTranslateOptions)
    .gateways.get("ns/gw")!
    .find((r) => r.name === "policy/traffic/ns/p1:jwt:ns/gw")!.resource
  if (policy.kind?.$case !== "policy" || policy.kind.value.kind?.$case !== "traffic" || policy.kind.value.kind.value.kind?.$case !== "jwt") {
    throw new Error("not a JWT policy")
  }
  return policy.kind.value.kind.value.kind.value
}

describe("remote JWKS", () => {
  const world = worldFromObjects(
    [mcpGatewayClass, gateway, idp({ type: "ExternalName", externalName: "localhost" }), remotePolicy("p1", "10m"), remotePolicy("p2", "7m", "keys")].map(
      decoded
    )
  )

  it("are fetched once per URL, through the ExternalName host, as often as the most eager owner asks", () => {
    const url = "http://localhost:8443/keys"
    expect(remoteJwksRequests(world, defaultTranslateOptions)).toEqual([{ key: jwksRequestKey(url), url, refreshMs: 7 * 60_000 }])
    expect(jwksRequestKey(url)).toMatch(/^[0-9a-f]{64}$/)
  })

  it("are fetched from the in-cluster name of a Service with pods, in the configured cluster domain", () => {
    const inCluster = { ...world, services: worldFromObjects([idp({ ports: [{ port: 8443 }] })]).services }
    const options: TranslateOptions = { ...defaultTranslateOptions, clusterDomain: "corp.internal" }
    expect(remoteJwksRequests(inCluster, options).map((r) => r.url)).toEqual(["http://idp.ns.svc.corp.internal:8443/keys"])
  })

  it("are not fetched from a host the ExternalName policy refuses, and the policy says why", () => {
    const options: TranslateOptions = { ...defaultTranslateOptions, externalNames: { _tag: "Deny" } }
    expect(remoteJwksRequests(world, options)).toEqual([])
    const accepted = policyStatusOf(translate(world, options).statuses, "p1")
    expect(accepted).toMatchObject({ status: "False", reason: "Invalid" })
    expect(accepted.message).toContain("ExternalName targets are not allowed")
  })

  it("are inlined once fetched (Valid); before, the provider is left out and the status names it and the fetch error", () => {
    expect(jwtOf(world).providers).toEqual([])
    const key = jwksRequestKey("http://localhost:8443/keys")
    const failed = { ...world, jwksKeySets: new Map([[key, { error: "GET http://localhost:8443/keys: connection refused" }]]) }
    expect(jwtOf(failed).providers).toEqual([])
    const partial = policyStatusOf(translate(failed, defaultTranslateOptions).statuses, "p1")
    expect(partial).toMatchObject({ status: "True", reason: "PartiallyValid" })
    expect(partial.message).toContain("provider https://idp is left out")
    expect(partial.message).toContain("connection refused")
    const jwks = '{"keys":[{"kty":"EC","kid":"k1","crv":"P-256","x":"a","y":"b"}]}'
    const fetched = { ...world, jwksKeySets: new Map([[key, { jwks, fetchedAt: "2026-01-01T00:00:00Z", error: "a later refresh failed" }]]) }
    expect(jwtOf(fetched).providers).toEqual([{ issuer: "https://idp", audiences: [], inline: jwks, jwtValidationOptions: undefined }])
    expect(policyStatusOf(translate(fetched, defaultTranslateOptions).statuses, "p1")).toMatchObject({ status: "True", reason: "Valid" })
  })

  it("are left out when what was fetched would not load in the proxy, and the status says why", () => {
    const key = jwksRequestKey("http://localhost:8443/keys")
    const unusable = { ...world, jwksKeySets: new Map([[key, { jwks: '{"keys":[{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}]}' }]]) }
    expect(jwtOf(unusable).providers).toEqual([])
    const partial = policyStatusOf(translate(unusable, defaultTranslateOptions).statuses, "p1")
    expect(partial).toMatchObject({ status: "True", reason: "PartiallyValid" })
    expect(partial.message).toContain('keys[0] (kid hmac) has key type "oct"')
    expect(partial.message).not.toContain("c2VjcmV0")
    // Keys the proxy can load are kept; only the others are left out.
    const good = { kty: "OKP", crv: "Ed25519", kid: "ed", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }
    const mixed = { ...world, jwksKeySets: new Map([[key, { jwks: JSON.stringify({ keys: [{ kty: "oct", kid: "hmac", k: "c2VjcmV0" }, good] }) }]]) }
    expect(jwtOf(mixed).providers.map((p) => JSON.parse(p.inline))).toEqual([{ keys: [good] }])
    expect(policyStatusOf(translate(mixed, defaultTranslateOptions).statuses, "p1").message).toContain("is sent without keys[0] (kid hmac)")
  })
})

describe("CEL checking", () => {
  it("names the field, the expression and the parse error", () => {
    expect(celProblem("spec.x[0]", 'mcp.tool.name == "echo"')).toBeUndefined()
    expect(celProblem("spec.x[0]", "jwt.role ==")).toMatch(
      /^spec\.x\[0\]: the CEL expression "jwt\.role ==" does not parse \(at 1:\d+: .+\); fix the expression$/
    )
  })
})

describe("credentials in render output", () => {
  const objects = [
    mcpGatewayClass,
    gateway,
    { apiVersion: "v1", kind: "Secret", metadata: { name: "keys", namespace: "ns" }, data: { ci: Buffer.from("k-secret-value-1").toString("base64") } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "up", namespace: "ns" }, stringData: { Authorization: "Bearer up-secret-value-2" } },
    {
      apiVersion: "agentgateway.dev/v1alpha1",
      kind: "AgentgatewayPolicy",
      metadata: { name: "creds", namespace: "ns" },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }],
        traffic: { apiKeyAuthentication: { secretRef: { name: "keys" } } },
        backend: { auth: { secretRef: { name: "up" } } }
      }
    },
    {
      apiVersion: "agentgateway.dev/v1alpha1",
      kind: "AgentgatewayPolicy",
      metadata: { name: "basic", namespace: "ns" },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }],
        traffic: { basicAuthentication: { users: ["alice:{SHA}basic-secret-value-3"] } }
      }
    }
  ].map(decoded)
  const translation = translate(worldFromObjects(objects), defaultTranslateOptions)
  const snapshot = buildSnapshot(translation, emptySnapshot)
  const secrets = ["k-secret-value-1", "up-secret-value-2", "basic-secret-value-3"]

  it("are sent to the proxy (the Bearer prefix of the default key stripped) and shown only as a marker", () => {
    const sent = JSON.stringify(translation.gateways.get("ns/gw")!.map((r) => Resource.toJSON(r.resource)))
    for (const secret of secrets) expect(sent).toContain(secret)
    expect(sent).not.toContain("Bearer up-secret")
    const dump = JSON.stringify(configDump({ snapshot, statuses: statusesWithProblems(translation.statuses, []), problems: [] }))
    for (const secret of secrets) expect(dump).not.toContain(secret)
    expect(dump.split(REDACTED).length - 1).toBe(3)
  })

  it("one Gateway's dump holds the statuses of the policies attached to it", () => {
    const dump = configDump({ snapshot, statuses: translation.statuses, problems: [] }, "ns/gw")
    expect(dump.statuses.map((s) => `${s.kind}/${s.name}`)).toEqual(["AgentgatewayPolicy/basic", "AgentgatewayPolicy/creds", "Gateway/gw"])
    expect(configDump({ snapshot, statuses: translation.statuses, problems: [] }, "ns/other").statuses).toEqual([])
  })

  it("leave resources without credentials as they are", () => {
    const listener = translation.gateways.get("ns/gw")!.find((r) => r.name.startsWith("listener/"))!.resource
    expect(redactSecrets(listener)).toBe(listener)
  })
})

describe("statuses with problems", () => {
  it("put an unreadable newest version's problem on every ancestor of a served policy", () => {
    const world = worldFromObjects([mcpGatewayClass, gateway, remotePolicy("p1")].map(decoded))
    const statuses = statusesWithProblems(translate(world, defaultTranslateOptions).statuses, [
      {
        origin: "p.yaml",
        kind: "AgentgatewayPolicy",
        namespace: "ns",
        name: "p1",
        field: "spec.traffic",
        message: "is broken; its last good version is still used"
      }
    ])
    const accepted = policyStatusOf(statuses, "p1")
    expect(accepted).toMatchObject({ status: "False", reason: "Invalid" })
    expect(accepted.message).toContain("spec.traffic is broken")
  })
})
