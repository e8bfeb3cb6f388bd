// AgentgatewayPolicy in a cluster with agentplane's own CRD (manifests/crds): the API server takes
// every field of the supported subset and every example policy, refuses unsupported fields at
// apply (strict field validation) and what the Schema refuses (CEL); agentplane writes its
// entries of status.ancestors (another controller's entry kept) and reads exactly the Secrets
// policies reference, re-sending a policy when its Secret changes.
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Logger } from "effect"
import { parse, parseAllDocuments, stringify } from "yaml"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { UNSUPPORTED_FIELDS } from "../../src/api/agentgatewayPolicy.ts"
import { decodeObject } from "../../src/api/objects.ts"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { kubeRequest } from "../harness/kube/request.ts"
import { eventually, installOurCrds, type Kube, kubeClient, serviceAccountToken } from "../support/kube.ts"
import { type KubeAgentplane, startKubeAgentplane, tearDown } from "../support/kubeAgentplane.ts"
import { examplePolicies, FIELD_POLICIES, POLICIES, policy, UNSUPPORTED_POLICIES, unsupportedFieldsOf } from "../support/policies.ts"
import { TestProxy } from "../support/xdsClient.ts"
import { Resource } from "../../src/gen/agentgateway/resource.ts"
import { RESOURCE_TYPE_URL } from "../../src/xds/snapshot.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const GATEWAYS = "/apis/gateway.networking.k8s.io/v1"
const CONTROLLER = "kgateway.dev/kgateway"

let cluster: Cluster
let kube: Kube
let agentplane: KubeAgentplane | undefined
const proxies: Array<TestProxy> = []
const logs: Array<string> = []

/** The namespaces examples use, created on first use (a dry run still needs the namespace). */
const namespaces = new Set(["default"])
const withNamespace = async (object: any) => {
  const namespace = object.metadata.namespace ?? "default"
  if (!namespaces.has(namespace)) {
    const created = await kube.call("POST", "/api/v1/namespaces", { metadata: { name: namespace } })
    if (created.status !== 201 && created.status !== 409) throw new Error(`namespace ${namespace}: ${JSON.stringify(created.body)}`)
    namespaces.add(namespace)
  }
  return { ...object, metadata: { ...object.metadata, namespace } }
}

/** Server-side apply as `kubectl apply --server-side` sends it: strict field validation. */
const apply = (object: any, dryRun = true) =>
  kube.call(
    "PATCH",
    `${POLICIES}/namespaces/${object.metadata.namespace}/agentgatewaypolicies/${object.metadata.name}?fieldManager=kubectl&fieldValidation=Strict&force=true${
      dryRun ? "&dryRun=All" : ""
    }`,
    object,
    "application/apply-patch+yaml"
  )

/** Watches open on Secrets, by scope (`cluster`, `namespace`, `resource` = one object), from the API server's metrics. */
const openSecretWatches = async (): Promise<Record<string, number>> => {
  const metrics = await kubeRequest({ server: cluster.server, ca: readFileSync(cluster.caFile, "utf8"), token: cluster.token }, "GET", "/metrics")
  const counts: Record<string, number> = {}
  for (const line of metrics.body.split("\n")) {
    if (!line.startsWith("apiserver_longrunning_requests{") || !line.includes('resource="secrets"') || !line.includes('verb="WATCH"')) continue
    const scope = /scope="([^"]*)"/.exec(line)?.[1] ?? ""
    counts[scope] = (counts[scope] ?? 0) + Number(line.split(" ").pop())
  }
  return counts
}
/** The API server's own watches of Secrets (its service account token authenticator keeps one), before agentplane starts. */
let baselineWatches: Record<string, number> = {}
/** The watches of Secrets agentplane opened. */
const secretWatches = async (): Promise<Record<string, number>> => {
  const now = await openSecretWatches()
  return Object.fromEntries(
    Object.entries(now)
      .map(([scope, count]) => [scope, count - (baselineWatches[scope] ?? 0)] as const)
      .filter(([, count]) => count !== 0)
  )
}

beforeAll(async () => {
  cluster = await startCluster()
  kube = kubeClient(cluster)
  await installOurCrds(kube)
}, 45 * 60_000)

afterAll(() => tearDown(proxies, agentplane, cluster), 60_000)

describe("agentplane's AgentgatewayPolicy CRD", () => {
  it("accepts every field of the supported subset, and stores them unchanged", async () => {
    for (const object of FIELD_POLICIES) {
      const res = await apply(object)
      expect([200, 201], `${object.metadata.name}: ${JSON.stringify(res.body)}`).toContain(res.status)
      // Nothing pruned: what is stored is what was sent.
      expect(res.body.spec, object.metadata.name).toEqual(object.spec)
      // And agentplane reads what the API server stores.
      expect(decodeObject(res.body)._tag, object.metadata.name).toBe("Decoded")
    }
  })

  it("accepts every example policy of the repository", async () => {
    const examples = examplePolicies(root)
    expect(examples.length).toBeGreaterThan(0)
    for (const { source, object } of examples) {
      expect(decodeObject(object)._tag, source).toBe("Decoded")
      const res = await apply(await withNamespace(object))
      expect([200, 201], `${source} ${object.metadata.name}: ${JSON.stringify(res.body)}`).toContain(res.status)
    }
  })

  it("refuses an unsupported field at apply, naming it", async () => {
    for (const [field, object] of UNSUPPORTED_POLICIES) {
      // kubectl apply --server-side (the API server answers a typed-patch failure with 500).
      const applied = await apply(object)
      expect(applied.status, `${field}: ${JSON.stringify(applied.body)}`).toBeGreaterThanOrEqual(400)
      expect(applied.body.message, field).toContain(`.${field}: field not declared in schema`)
      // kubectl apply / create (client-side): strict decoding.
      const created = await kube.call("POST", `${POLICIES}/namespaces/default/agentgatewaypolicies?fieldValidation=Strict&dryRun=All`, object)
      expect(created.status, `${field}: ${JSON.stringify(created.body)}`).toBe(400)
      expect(created.body.message, field).toContain(`unknown field "${field}"`)
    }
    // The golden cases that show the refusal of unsupported fields are refused at apply too.
    let refusedCases = 0
    for (const { source, object } of examplePolicies(root, true)) {
      const fields = unsupportedFieldsOf(object, UNSUPPORTED_FIELDS)
      if (fields.length === 0) continue
      refusedCases++
      const res = await apply(await withNamespace(object))
      expect(res.status, source).toBeGreaterThanOrEqual(400)
      expect(res.body.message, source).toMatch(/field not declared in schema/)
      expect(
        fields.some((field) => res.body.message.replace(/\[\d+\]/g, "[]").includes(`.${field}: field not declared in schema`)),
        `${source} ${object.metadata.name}: ${res.body.message}`
      ).toBe(true)
    }
    expect(refusedCases).toBeGreaterThan(0)
  })

  it("refuses what agentplane's Schema or agentgateway's CRD refuses: one-of rules, target kinds, a short cacheDuration", async () => {
    const target = { group: "gateway.networking.k8s.io", kind: "Gateway", name: "mcp-gateway" }
    const refused: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
      ["at least one of traffic or backend must be set", { targetRefs: [target] }],
      ["only one kind of target per policy", { targetRefs: [target, { ...target, kind: "HTTPRoute", name: "r" }], traffic: { cors: {} } }],
      ["exactly one of secretRef, secretSelector must be set", { targetRefs: [target], traffic: { apiKeyAuthentication: {} } }],
      [
        "exactly one of header, queryParameter, cookie must be set",
        { targetRefs: [target], traffic: { apiKeyAuthentication: { secretRef: { name: "k" }, location: { header: { name: "a" }, cookie: { name: "b" } } } } }
      ],
      ["only a core Secret may be referenced", { targetRefs: [target], backend: { auth: { secretRef: { name: "k", kind: "ConfigMap" } } } }],
      [
        "cacheDuration must be at least 5m",
        {
          targetRefs: [target],
          traffic: {
            jwtAuthentication: {
              providers: [{ issuer: "https://idp", jwks: { remote: { backendRef: { name: "idp", port: 80 }, jwksPath: "/keys", cacheDuration: "1m" } } }]
            }
          }
        }
      ],
      ["exactly one of key, secretRef, passthrough must be set", { targetRefs: [target], backend: { auth: { location: { header: { name: "x" } } } } }],
      ["targetRefs may name Gateways", { targetRefs: [{ group: "", kind: "Service", name: "s" }], traffic: { cors: {} } }]
    ]
    for (const [message, spec] of refused) {
      const res = await apply(policy("refused", spec))
      expect(res.status, message).toBe(422)
      expect(res.body.message, message).toContain(message)
    }
  })
})

describe("in Kubernetes mode", () => {
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
    await kube.must("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "tools" },
      spec: { ports: [{ name: "mcp", port: 3000, appProtocol: "kgateway.dev/mcp" }] }
    })
    // A second Gateway, in the namespace whose Secrets a policy selects by label.
    await kube.must("POST", "/api/v1/namespaces", { metadata: { name: "labelled" } })
    await kube.must("POST", `${GATEWAYS}/namespaces/labelled/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "mcp-gateway", namespace: "labelled" },
      spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
    })
    // agentplane runs as a ServiceAccount that may read exactly one Secret of default, the one the
    // policy below references, and the Secrets of labelled (for a label selector): any other Secret
    // read (a list of all, a watch of another) is refused and logged, which the tests check never
    // happens.
    const rules = parseAllDocuments(readFileSync("manifests/install/clusterrole.yaml", "utf8"))[0]!
      .toJS()
      .rules.filter((rule: any) => !(rule.resources.includes("secrets") && rule.verbs.includes("list")))
    await kube.must("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", { metadata: { name: "agentplane-test" }, rules })
    await kube.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", {
      metadata: { name: "agentplane-test" },
      rules: [
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["api-keys"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
        // The JWKS store's grant, as shipped: agentplane translates nothing before it has listed the store.
        ...parseAllDocuments(readFileSync("manifests/install/jwks-store.yaml", "utf8"))[0]!.toJS().rules
      ]
    })
    await kube.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/labelled/roles", {
      metadata: { name: "agentplane-test" },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }]
    })
    const subjects = [{ kind: "ServiceAccount", name: "agentplane", namespace: "default" }]
    await kube.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/labelled/rolebindings", {
      metadata: { name: "agentplane-test" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "agentplane-test" },
      subjects
    })
    await kube.must("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
      metadata: { name: "agentplane-test" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "agentplane-test" },
      subjects
    })
    await kube.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
      metadata: { name: "agentplane-test" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "agentplane-test" },
      subjects
    })
    baselineWatches = await openSecretWatches()
    const kubeconfig = parse(readFileSync(cluster.kubeconfigPath, "utf8"))
    kubeconfig.users[0].user.token = await serviceAccountToken(kube, "default", "agentplane", [])
    const restricted = join(cluster.dataDir, "agentplane-kubeconfig")
    writeFileSync(restricted, stringify(kubeconfig), { mode: 0o600 })
    agentplane = await startKubeAgentplane(
      { ...cluster, kubeconfigPath: restricted },
      {
        identity: "policy-test",
        logger: Logger.make(({ message }) => {
          logs.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
        })
      }
    )
  }, 60_000)

  it("writes its entry of status.ancestors, and keeps another controller's", async () => {
    const path = `${POLICIES}/namespaces/default/agentgatewaypolicies/cors`
    await kube.must(
      "POST",
      `${POLICIES}/namespaces/default/agentgatewaypolicies`,
      policy("cors", {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "mcp-gateway" }],
        traffic: { cors: { allowOrigins: ["https://app.example.com"] } }
      })
    )
    const foreign = {
      ancestorRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "other-gateway", namespace: "default" },
      controllerName: "example.com/other",
      conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "theirs", lastTransitionTime: "2026-01-01T00:00:00Z" }]
    }
    await kube.must("PATCH", `${path}/status`, { status: { ancestors: [foreign] } }, "application/merge-patch+json")

    const written = await eventually(
      async () => {
        const read = await kube.must("GET", path)
        return read.status?.ancestors?.some((a: any) => a.controllerName === CONTROLLER) ? read : undefined
      },
      "our ancestor entry",
      30_000
    )
    const ours = written.status.ancestors.find((a: any) => a.controllerName === CONTROLLER)
    expect(ours.ancestorRef).toMatchObject({ group: "gateway.networking.k8s.io", kind: "Gateway", name: "mcp-gateway" })
    expect(ours.conditions.find((c: any) => c.type === "Accepted")).toMatchObject({ status: "True", observedGeneration: 1 })
    expect(written.status.ancestors).toContainEqual(foreign)

    // Written only on change: nothing moves while nothing changes.
    const version = written.metadata.resourceVersion
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect((await kube.must("GET", path)).metadata.resourceVersion).toBe(version)

    // A target that does not exist: Accepted=False, TargetNotFound; the foreign entry still there.
    await kube.must(
      "PATCH",
      path,
      { spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "missing" }] } },
      "application/merge-patch+json"
    )
    const missing = await eventually(
      async () => {
        const read = await kube.must("GET", path)
        const entry = read.status?.ancestors?.find((a: any) => a.controllerName === CONTROLLER)
        return entry?.ancestorRef?.name === "missing" ? read : undefined
      },
      "the ancestor entry of the missing target",
      30_000
    )
    const entry = missing.status.ancestors.find((a: any) => a.controllerName === CONTROLLER)
    expect(entry.conditions.find((c: any) => c.type === "Accepted")).toMatchObject({ status: "False", reason: "TargetNotFound" })
    expect(missing.status.ancestors.filter((a: any) => a.controllerName === CONTROLLER)).toHaveLength(1)
    expect(missing.status.ancestors).toContainEqual(foreign)

    // Targeting only a Gateway of another controller: our entry goes, the other controller's stays.
    await kube.must("POST", `${GATEWAYS}/gatewayclasses`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "others" },
      spec: { controllerName: "example.com/other" }
    })
    await kube.must("POST", `${GATEWAYS}/namespaces/default/gateways`, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "other-gateway", namespace: "default" },
      spec: { gatewayClassName: "others", listeners: [{ name: "http", port: 8080, protocol: "HTTP" }] }
    })
    await kube.must(
      "PATCH",
      path,
      { spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "other-gateway" }] } },
      "application/merge-patch+json"
    )
    const theirsOnly = await eventually(
      async () => {
        const read = await kube.must("GET", path)
        return read.status?.ancestors?.some((a: any) => a.controllerName === CONTROLLER) ? undefined : read
      },
      "our ancestor entry removed",
      30_000
    )
    expect(theirsOnly.status.ancestors).toEqual([foreign])
  }, 60_000)

  it("reads the API-key Secret a policy references into the xDS output, never an unreferenced one, and re-sends on edit", async () => {
    await kube.must("POST", "/api/v1/namespaces/default/secrets", {
      metadata: { name: "api-keys" },
      stringData: { alice: "first-secret-key" }
    })
    await kube.must("POST", "/api/v1/namespaces/default/secrets", {
      metadata: { name: "unreferenced" },
      stringData: { bob: "never-read-key" }
    })
    await kube.must(
      "POST",
      `${POLICIES}/namespaces/default/agentgatewaypolicies`,
      policy("keys", {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "mcp-gateway" }],
        traffic: { apiKeyAuthentication: { secretRef: { name: "api-keys" } } }
      })
    )
    const proxy = new TestProxy({
      address: agentplane!.xdsAddress,
      gateway: "mcp-gateway",
      namespace: "default",
      token: await serviceAccountToken(kube, "default", "mcp-gateway")
    })
    proxies.push(proxy)
    const apiKeyPolicy = (key: string) => async () =>
      [...proxy.decoded.values()].find((resource) => JSON.stringify(resource).includes(key)) === undefined ? undefined : true
    await eventually(apiKeyPolicy("first-secret-key"), "the Secret's key in the xDS output", 30_000)

    // Editing the Secret re-sends the policy with the new key.
    await kube.must("PATCH", "/api/v1/namespaces/default/secrets/api-keys", { stringData: { alice: "second-secret-key" } }, "application/merge-patch+json")
    await eventually(apiKeyPolicy("second-secret-key"), "the edited key in the xDS output", 30_000)
    expect(await apiKeyPolicy("first-secret-key")()).toBeUndefined()
    // The other Secret is never read: not in the configuration, and agentplane, which may read
    // nothing but api-keys, was never refused a read.
    expect(await apiKeyPolicy("never-read-key")()).toBeUndefined()
    expect(logs.filter((line) => /may not list|forbidden/i.test(line))).toEqual([])
  }, 60_000)

  it("watches a label selector in its namespace only, and sends the policy with its Secret from the first push", async () => {
    // The proxy is connected before the policy exists, so it sees every version agentplane sends.
    const proxy = new TestProxy({
      address: agentplane!.xdsAddress,
      gateway: "mcp-gateway",
      namespace: "labelled",
      token: await serviceAccountToken(kube, "labelled", "mcp-gateway")
    })
    proxies.push(proxy)
    await proxy.until(() => proxy.responses.length > 0, "the first push")
    await kube.must("POST", "/api/v1/namespaces/labelled/secrets", {
      metadata: { name: "selected", labels: { "agentplane.dev/api-key": "true" } },
      stringData: { carol: "carol-key-value" }
    })
    await kube.must("POST", "/api/v1/namespaces/labelled/secrets", { metadata: { name: "unselected" }, stringData: { dave: "dave-key-value" } })
    await kube.must(
      "POST",
      `${POLICIES}/namespaces/labelled/agentgatewaypolicies`,
      policy(
        "selected-keys",
        {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "mcp-gateway" }],
          traffic: { apiKeyAuthentication: { secretSelector: { matchLabels: { "agentplane.dev/api-key": "true" } } } }
        },
        "labelled"
      )
    )
    const sent = (key: string) => async () => ([...proxy.decoded.values()].some((resource) => JSON.stringify(resource).includes(key)) ? true : undefined)
    await eventually(sent("carol-key-value"), "the selected Secret's key in the xDS output", 30_000)
    expect(await sent("dave-key-value")()).toBeUndefined()
    // Every version of the policy the proxy received carried the key: the World waited for the
    // new Secret watch's first list instead of sending the policy without its Secret.
    const versions = proxy.responses
      .filter((response) => response.typeUrl === RESOURCE_TYPE_URL)
      .flatMap((response) => response.resources.map((resource) => JSON.stringify(Resource.decode(resource.resource!.value))))
      .filter((json) => json.includes("labelled/selected-keys"))
    expect(versions.length).toBeGreaterThan(0)
    for (const version of versions) expect(version).toContain("carol-key-value")

    // The API server's count of the watches open on Secrets, beyond its own: one by name, one by labels.
    expect(await secretWatches()).toEqual({ resource: 1, namespace: 1 })

    // No policy references a Secret any more: no Secret is watched.
    await kube.must("DELETE", `${POLICIES}/namespaces/labelled/agentgatewaypolicies/selected-keys`)
    await kube.must("DELETE", `${POLICIES}/namespaces/default/agentgatewaypolicies/keys`)
    await eventually(async () => (Object.keys(await secretWatches()).length === 0 ? true : undefined), "no watch of Secrets left", 30_000)
    expect(logs.filter((line) => /may not list|forbidden/i.test(line))).toEqual([])
    // No Secret value in agentplane's logs or in any Event.
    const events = [
      ...(await kube.must("GET", "/apis/events.k8s.io/v1/namespaces/default/events")).items,
      ...(await kube.must("GET", "/apis/events.k8s.io/v1/namespaces/labelled/events")).items
    ]
    for (const value of ["first-secret-key", "second-secret-key", "never-read-key", "carol-key-value", "dave-key-value"]) {
      expect(logs.join("\n")).not.toContain(value)
      expect(JSON.stringify(events)).not.toContain(value)
    }
  }, 60_000)
})
