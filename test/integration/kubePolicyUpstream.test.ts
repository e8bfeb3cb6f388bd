// AgentgatewayPolicy in a cluster that has agentgateway's own CRD (from the Go module, as its
// agentgateway-crds chart installs it) instead of ours: our CRD is a strict subset of it, it takes
// every policy ours takes, and agentplane serves from it — its status entries pass upstream's
// status schema, and a policy with a field only upstream has is refused by agentplane, by name.
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { UNSUPPORTED_FIELDS } from "../../src/api/agentgatewayPolicy.ts"
import { decodeObject } from "../../src/api/objects.ts"
import { upstreamPolicyCrd } from "../harness/kube/agentgatewayCrds.ts"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { eventually, installCrd, type Kube, kubeClient, readYaml } from "../support/kube.ts"
import { type KubeAgentplane, startKubeAgentplane, tearDown } from "../support/kubeAgentplane.ts"
import { examplePolicies, FIELD_POLICIES, POLICIES, policy, UNSUPPORTED_POLICIES, unsupportedFieldsOf } from "../support/policies.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"
const CONTROLLER = "kgateway.dev/kgateway"

let cluster: Cluster
let kube: Kube
let upstream: Record<string, any>
let agentplane: KubeAgentplane | undefined

const ours = parse(readFileSync(`${root}/manifests/crds/agentgateway.dev_agentgatewaypolicies.yaml`, "utf8"))

/** The namespaces examples use, created on first use (a dry run still needs the namespace). */
const namespaces = new Set(["default"])
const ensureNamespace = async (object: any) => {
  const namespace = object.metadata.namespace ?? "default"
  if (namespaces.has(namespace)) return
  const created = await kube.call("POST", "/api/v1/namespaces", { metadata: { name: namespace } })
  if (created.status !== 201 && created.status !== 409) throw new Error(`namespace ${namespace}: ${JSON.stringify(created.body)}`)
  namespaces.add(namespace)
}

const apply = (object: any) =>
  kube.call(
    "PATCH",
    `${POLICIES}/namespaces/${object.metadata.namespace ?? "default"}/agentgatewaypolicies/${object.metadata.name}?fieldManager=kubectl&fieldValidation=Strict&force=true&dryRun=All`,
    object,
    "application/apply-patch+yaml"
  )

/** Every property path of a structural schema (`spec.traffic.cors.maxAge`, `[]` for list items, `{}` for map values). */
const propertyPaths = (schema: any, at: string): Array<string> => {
  const paths: Array<string> = []
  for (const [name, child] of Object.entries<any>(schema?.properties ?? {})) {
    paths.push(`${at}.${name}`, ...propertyPaths(child, `${at}.${name}`))
  }
  if (schema?.items !== undefined) paths.push(...propertyPaths(schema.items, `${at}[]`))
  if (typeof schema?.additionalProperties === "object") paths.push(...propertyPaths(schema.additionalProperties, `${at}{}`))
  return paths
}

const specOf = (crd: any) => crd.spec.versions.find((v: any) => v.name === "v1alpha1").schema.openAPIV3Schema.properties.spec

beforeAll(async () => {
  upstream = await upstreamPolicyCrd()
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await installCrd(kube, readYaml("manifests/crds/gateway.kgateway.dev_gatewayparameters.yaml"))
  await installCrd(kube, upstream)
}, 45 * 60_000)

afterAll(() => tearDown([], agentplane, cluster), 60_000)

describe("agentgateway's own AgentgatewayPolicy CRD", () => {
  it("has our CRD's group, version, kind and scope, and every field of ours (ours is a strict subset)", () => {
    expect(ours.metadata.name).toBe(upstream["metadata"].name)
    expect({ group: ours.spec.group, scope: ours.spec.scope, kind: ours.spec.names.kind, plural: ours.spec.names.plural }).toEqual({
      group: upstream["spec"].group,
      scope: upstream["spec"].scope,
      kind: upstream["spec"].names.kind,
      plural: upstream["spec"].names.plural
    })
    const theirs = new Set(propertyPaths(specOf(upstream), "spec"))
    const mine = propertyPaths(specOf(ours), "spec")
    expect(mine.filter((path) => !theirs.has(path))).toEqual([])
    // Strictly: each unsupported upstream field is one of theirs and none of ours.
    for (const [at, names] of Object.entries(UNSUPPORTED_FIELDS)) {
      for (const name of names) {
        expect(theirs.has(`${at}.${name}`), `${at}.${name} is upstream's`).toBe(true)
        expect(mine.includes(`${at}.${name}`), `${at}.${name} is not ours`).toBe(false)
      }
    }
  })

  it("accepts every policy ours accepts: every supported field and every example", async () => {
    const examples = examplePolicies(root)
      .filter(({ object }) => decodeObject(object)._tag === "Decoded")
      .map(({ object }) => object)
    for (const object of [...FIELD_POLICIES, ...examples]) {
      await ensureNamespace(object)
      const res = await apply(object)
      expect([200, 201], `${object.metadata.name}: ${JSON.stringify(res.body)}`).toContain(res.status)
      expect(decodeObject(res.body)._tag, object.metadata.name).toBe("Decoded")
    }
  })

  it("accepts the upstream fields ours refuses (they are upstream's, not typos)", async () => {
    for (const [field, object] of UNSUPPORTED_POLICIES) {
      const res = await apply(object)
      expect([200, 201], `${field}: ${JSON.stringify(res.body)}`).toContain(res.status)
      expect(unsupportedFieldsOf(res.body, UNSUPPORTED_FIELDS)).toEqual([field])
    }
  })
})

describe("agentplane on agentgateway's CRD", () => {
  beforeAll(async () => {
    await kube.must("POST", `${GATEWAYS}/gatewayclasses`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "mcp" },
      spec: { controllerName: CONTROLLER }
    })
    await kube.must("POST", `${GATEWAYS}/namespaces/default/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "mcp-gateway", namespace: "default" },
      spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
    })
    agentplane = await startKubeAgentplane(cluster, { identity: "upstream-crd" })
  }, 60_000)

  const ourEntry = async (name: string) => {
    const read = await kube.must("GET", `${POLICIES}/namespaces/default/agentgatewaypolicies/${name}`)
    return read.status?.ancestors?.find((a: any) => a.controllerName === CONTROLLER)
  }

  it("writes status.ancestors the upstream status schema accepts", async () => {
    await kube.must(
      "POST",
      `${POLICIES}/namespaces/default/agentgatewaypolicies`,
      policy("cors", {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "mcp-gateway" }],
        traffic: { cors: { allowOrigins: ["https://app.example.com"] } }
      })
    )
    const entry = await eventually(() => ourEntry("cors"), "our ancestor entry", 30_000)
    expect(entry.ancestorRef).toMatchObject({ group: "gateway.networking.k8s.io", kind: "Gateway", name: "mcp-gateway" })
    expect(entry.conditions.find((c: any) => c.type === "Accepted")).toMatchObject({ status: "True" })
  }, 60_000)

  it("refuses a policy with an upstream field it does not support, naming the field", async () => {
    const [field, object] = UNSUPPORTED_POLICIES[0]!
    await kube.must("POST", `${POLICIES}/namespaces/default/agentgatewaypolicies`, object)
    const entry = await eventually(
      async () => {
        const found = await ourEntry(object.metadata.name)
        return found?.conditions?.some((c: any) => c.type === "Accepted" && c.status === "False") ? found : undefined
      },
      "Accepted=False on the policy",
      30_000
    )
    const accepted = entry.conditions.find((c: any) => c.type === "Accepted")
    expect(accepted.message).toContain(field)
    expect(accepted.message).toMatch(/not supported/)
  }, 60_000)
})
