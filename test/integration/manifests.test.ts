// The installation artifacts, checked with the real tools: `helm lint`/`helm template` on the
// chart, and every object of manifests/install and of the chart server-side applied (dry run)
// against a real API server with RBAC on, whose SubjectAccessReviews confirm least privilege.
import { execFile } from "node:child_process"
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse, parseAllDocuments } from "yaml"
import { ensureHelm } from "../harness/helm.ts"
import { ensureKustomize } from "../harness/kustomize.ts"
import { startCluster, type Cluster } from "../harness/kube/cluster.ts"
import { kubeRequest, type KubeEndpoint } from "../harness/kube/request.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const installDir = path.join(root, "manifests", "install")
const chartDir = path.join(root, "manifests", "helm", "agentplane")
const crdDir = path.join(root, "manifests", "crds")
const namespace = "agentplane-system"
const serviceAccountUser = `system:serviceaccount:${namespace}:agentplane`

interface KubeObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly labels?: Record<string, string>
    readonly annotations?: Record<string, string>
  }
  readonly [field: string]: unknown
}

interface Rule {
  readonly apiGroups: ReadonlyArray<string>
  readonly resources: ReadonlyArray<string>
  readonly verbs: ReadonlyArray<string>
}

interface RbacRole extends KubeObject {
  readonly rules: ReadonlyArray<Rule>
}

interface Container {
  readonly image: string
  readonly imagePullPolicy: string
  readonly args: ReadonlyArray<string>
  readonly env: ReadonlyArray<{ readonly name: string; readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } } }>
  readonly ports: ReadonlyArray<{ readonly name: string; readonly containerPort: number }>
  readonly livenessProbe: { readonly httpGet: { readonly path: string; readonly port: string } }
  readonly readinessProbe: { readonly httpGet: { readonly path: string; readonly port: string } }
  readonly resources: unknown
  readonly securityContext: Record<string, unknown>
  readonly volumeMounts: unknown
}

interface PodSpec {
  readonly serviceAccountName: string
  readonly securityContext: Record<string, unknown>
  readonly containers: ReadonlyArray<Container>
  readonly volumes: unknown
  readonly nodeSelector?: Record<string, string>
  readonly tolerations?: unknown
  readonly affinity?: unknown
}

interface Deployment extends KubeObject {
  readonly spec: {
    readonly replicas: number
    readonly template: { readonly metadata: { readonly annotations: Record<string, string> }; readonly spec: PodSpec }
  }
}

interface Service extends KubeObject {
  readonly spec: { readonly type: string; readonly ports: ReadonlyArray<{ readonly name: string; readonly port: number; readonly targetPort: string }> }
}

// ---------------------------------------------------------------------------------------------
// Reading the artifacts

const parseDocuments = (text: string, source: string): KubeObject[] =>
  parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message}`)
    const value = doc.toJSON() as KubeObject | null
    return value === null ? [] : [value]
  })

const find = <T extends KubeObject>(objects: ReadonlyArray<KubeObject>, kind: string, name?: string): T => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`)
  return found[0] as T
}

const containerOf = (deployment: Deployment): Container => {
  const containers = deployment.spec.template.spec.containers
  expect(containers).toHaveLength(1)
  return containers[0] as Container
}

/** The value after `flag` in an argument list. */
const flag = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const index = args.indexOf(name)
  return index < 0 ? undefined : args[index + 1]
}

/** Rules as sorted `group/resource:verb` strings, so that two role definitions compare by substance. */
const permissions = (rules: ReadonlyArray<Rule>): string[] => {
  for (const rule of rules) expect(Object.keys(rule).sort(), "rules use only groups, resources and verbs").toEqual(["apiGroups", "resources", "verbs"])
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g === "" ? "core" : g}/${res}:${v}`)))).sort()
}

const expand = (group: string, resources: string[], verbs: string[]): string[] =>
  resources.flatMap((resource) => verbs.map((verb) => `${group}/${resource}:${verb}`))

// The contract of Kubernetes mode; later issues add to it, nothing else may creep in.
const expectedClusterPermissions = [
  ...expand("gateway.networking.k8s.io", ["gatewayclasses", "gateways"], ["get", "list", "watch"]),
  ...expand("gateway.kgateway.dev", ["gatewayparameters"], ["get", "list", "watch"]),
  ...expand("agentgateway.dev", ["agentgatewaypolicies"], ["get", "list", "watch"]),
  ...expand("core", ["services", "namespaces"], ["get", "list", "watch"]),
  ...expand("gateway.networking.k8s.io", ["gatewayclasses/status", "gateways/status"], ["patch"]),
  ...expand("agentgateway.dev", ["agentgatewaypolicies/status"], ["patch"]),
  ...expand("events.k8s.io", ["events"], ["create"]),
  // Managed proxies: applied (create, patch), checked (get), removed (delete); Deployments watched.
  ...expand("apps", ["deployments"], ["get", "list", "watch", "create", "patch", "delete"]),
  ...expand("core", ["services", "serviceaccounts", "configmaps"], ["get", "create", "patch", "delete"]),
  ...expand("core", ["secrets"], ["create", "delete"]),
  // The Secrets policies reference, each watched on its own (by name or the policy's label selector).
  ...expand("core", ["secrets"], ["get", "list", "watch"]),
  // xDS authentication.
  ...expand("authentication.k8s.io", ["tokenreviews"], ["create"])
].sort()
const expectedLeasePermissions = expand("coordination.k8s.io", ["leases"], ["get", "create", "update"]).sort()
// Remote JWKS stored in ConfigMaps of agentplane's own namespace: watched (list, watch), applied, swept.
const expectedJwksStorePermissions = expand("core", ["configmaps"], ["list", "watch", "create", "patch", "delete"]).sort()

// ---------------------------------------------------------------------------------------------
// helm and kustomize

let helmBinary = ""
let kustomizeBinary = ""
/** HOME and helm's config, cache and data folders: no user's repositories or plugins leak in. */
let toolHome = ""
const execFileAsync = promisify(execFile)

async function run(binary: string, args: ReadonlyArray<string>): Promise<string> {
  const env = {
    PATH: process.env["PATH"] ?? "",
    HOME: toolHome,
    HELM_CACHE_HOME: path.join(toolHome, "cache"),
    HELM_CONFIG_HOME: path.join(toolHome, "config"),
    HELM_DATA_HOME: path.join(toolHome, "data")
  }
  try {
    return (await execFileAsync(binary, [...args], { env, cwd: root })).stdout
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string }
    throw new Error(`${path.basename(binary)} ${args.join(" ")} failed: ${e.stderr ?? ""}${e.stdout ?? ""}${e.message}`)
  }
}

const helm = (args: ReadonlyArray<string>): Promise<string> => run(helmBinary, args)

/** What `kubectl apply -k manifests/install` applies, built by the real kustomize. */
let installed: ReadonlyArray<KubeObject> = []

const template = async (...set: string[]): Promise<KubeObject[]> =>
  parseDocuments(await helm(["template", "agentplane", chartDir, "--namespace", namespace, ...set.flatMap((s) => ["--set", s])]), "helm template")

const customValues = [
  "image.repository=registry.example.com/team/agentplane",
  "image.tag=1.2.3",
  "image.pullPolicy=Always",
  "replicaCount=2",
  "resources.requests.cpu=250m",
  "resources.limits.memory=1Gi",
  "controllerName=example.com/agentplane",
  "logLevel=debug",
  "externalNames=localhost\\,*.example.com",
  "xds.port=19978",
  "service.type=NodePort",
  "podAnnotations.team=ai",
  "nodeSelector.kubernetes\\.io/os=linux",
  "tolerations[0].key=dedicated",
  "tolerations[0].operator=Exists"
]

// ---------------------------------------------------------------------------------------------
// API server

let cluster: Cluster | undefined
let endpoint: KubeEndpoint

const discovery = new Map<string, ReadonlyArray<{ name: string; kind: string; namespaced: boolean }>>()

/** The REST path of an object, from the server's own discovery (so CRDs resolve too). */
async function objectPath(object: KubeObject): Promise<string> {
  const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`
  let resources = discovery.get(base)
  if (resources === undefined) {
    const res = await kubeRequest(endpoint, "GET", base)
    if (res.status !== 200) throw new Error(`discovery ${base}: HTTP ${res.status} ${res.body}`)
    resources = (JSON.parse(res.body) as { resources: Array<{ name: string; kind: string; namespaced: boolean }> }).resources
    discovery.set(base, resources)
  }
  const resource = resources.find((r) => r.kind === object.kind && !r.name.includes("/"))
  if (resource === undefined) throw new Error(`the API server does not serve ${object.kind} in ${object.apiVersion}`)
  if (!resource.namespaced) return `${base}/${resource.name}/${object.metadata.name}`
  if (object.metadata.namespace === undefined) throw new Error(`${object.kind} ${object.metadata.name} names no namespace`)
  return `${base}/namespaces/${object.metadata.namespace}/${resource.name}/${object.metadata.name}`
}

/** Server-side apply; `dryRun` runs admission and validation but stores nothing. */
async function apply(object: KubeObject, mode: "dryRun" | "persist"): Promise<{ status: number; body: string }> {
  const query = `fieldManager=agentplane-test${mode === "dryRun" ? "&dryRun=All" : ""}`
  return kubeRequest(endpoint, "PATCH", `${await objectPath(object)}?${query}`, object, "application/apply-patch+yaml")
}

async function expectAccepted(objects: ReadonlyArray<KubeObject>, mode: "dryRun" | "persist"): Promise<void> {
  for (const object of objects) {
    const res = await apply(object, mode)
    expect(res.status, `${object.kind} ${object.metadata.name}: ${res.body}`).toBeLessThan(300)
  }
}

async function waitEstablished(name: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await kubeRequest(endpoint, "GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)
    const crd = JSON.parse(res.body) as { status?: { conditions?: Array<{ type: string; status: string }> } }
    if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) return
    if (Date.now() > deadline) throw new Error(`CRD ${name} not established after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface Access {
  readonly verb: string
  readonly group?: string
  readonly resource: string
  readonly subresource?: string
  readonly namespace?: string
}

/** `kubectl auth can-i --as system:serviceaccount:agentplane-system:agentplane`, via SubjectAccessReview. */
async function serviceAccountCan(access: Access): Promise<boolean> {
  const review = {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user: serviceAccountUser,
      // The groups a service account token carries, so grants to any of them count too.
      groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
      resourceAttributes: { group: "", ...access }
    }
  }
  const res = await kubeRequest(endpoint, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
  if (res.status !== 201) throw new Error(`SubjectAccessReview: HTTP ${res.status} ${res.body}`)
  return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed
}

const describeAccess = (a: Access): string =>
  `${a.verb} ${a.group ? `${a.resource}.${a.group}` : a.resource}${a.subresource ? `/${a.subresource}` : ""}${a.namespace ? ` in ${a.namespace}` : " cluster-wide"}`

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  toolHome = await mkdtemp(path.join(tmpdir(), "agentplane-manifests-"))
  // All build from the Go module proxy on first use (kustomize < 1 min, helm ~2 min, the API
  // server ~15 min); the cluster starts while the tools are found or built.
  const clusterStarted = startCluster()
  clusterStarted.catch(() => {}) // awaited below; not an unhandled rejection meanwhile
  try {
    ;[helmBinary, kustomizeBinary] = await Promise.all([ensureHelm(), ensureKustomize()])
    installed = parseDocuments(await run(kustomizeBinary, ["build", installDir]), "kustomize build")
  } catch (error) {
    await clusterStarted.then(
      (c) => c.stop(),
      () => {}
    )
    throw error
  }
  cluster = await clusterStarted
  endpoint = { server: cluster.server, ca: await readFile(cluster.caFile, "utf8"), token: cluster.token }
}, 45 * 60_000)

afterAll(async () => {
  await cluster?.stop()
  if (toolHome) await rm(toolHome, { recursive: true, force: true })
}, 60_000)

describe("plain manifests (manifests/install)", () => {
  it("build with kustomize into the namespace, our CRDs, the identity, RBAC, the Deployment and the Service", () => {
    expect(installed.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        "Namespace/agentplane-system",
        "CustomResourceDefinition/gatewayparameters.gateway.kgateway.dev",
        "CustomResourceDefinition/agentgatewaypolicies.agentgateway.dev",
        "ServiceAccount/agentplane",
        "ClusterRole/agentplane",
        "ClusterRoleBinding/agentplane",
        "Role/agentplane-leader-election",
        "RoleBinding/agentplane-leader-election",
        "Role/agentplane-jwks-store",
        "RoleBinding/agentplane-jwks-store",
        "Deployment/agentplane",
        "Service/agentplane"
      ].sort()
    )
    const clusterScoped = ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"]
    for (const o of installed.filter((o) => !clusterScoped.includes(o.kind))) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(namespace)
  })

  it("run `serve --kube` as the contract says, hardened, probed and scraped", () => {
    const deployment = find<Deployment>(installed, "Deployment")
    const pod = deployment.spec.template.spec
    const container = containerOf(deployment)
    expect(deployment.spec.replicas).toBe(1)
    expect(container.image).toBe("ghcr.io/agentplane/agentplane:0.1.0")
    expect(container.args).toEqual([
      "serve",
      "--kube",
      "--xds-address",
      "0.0.0.0:9978",
      "--xds-service-address",
      `agentplane.${namespace}.svc:9978`,
      "--admin-address",
      "0.0.0.0:9095",
      "--debug-address",
      "127.0.0.1:9093",
      "--controller-name",
      "kgateway.dev/kgateway",
      "--external-names",
      "allow",
      "--agentgateway",
      "enabled",
      "--leader-election-namespace",
      namespace,
      "--log-level",
      "info"
    ])
    expect(container.env).toEqual([
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }
    ])
    expect(container.ports.map((p) => [p.name, p.containerPort])).toEqual([
      ["xds", 9978],
      ["admin", 9095]
    ])
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "admin" })
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "admin" })
    expect(container.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } })
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] }
    })
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } })
    expect(pod.serviceAccountName).toBe("agentplane")
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "9095",
      "prometheus.io/path": "/metrics"
    })

    const service = find<Service>(installed, "Service")
    expect(service.spec.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([
      ["xds", 9978, "xds"],
      ["admin", 9095, "admin"]
    ])
  })

  it("keep the debug endpoints on loopback: neither a container port nor on the Service", () => {
    const container = containerOf(find<Deployment>(installed, "Deployment"))
    expect(flag(container.args, "--debug-address")).toBe("127.0.0.1:9093")
    expect(container.ports.map((p) => p.containerPort)).not.toContain(9093)
    expect(find<Service>(installed, "Service").spec.ports.map((p) => p.port)).not.toContain(9093)
  })

  it("grant exactly the contract's permissions: the ClusterRole's set, and Leases and the JWKS store only in their own namespace", () => {
    expect(permissions(find<RbacRole>(installed, "ClusterRole").rules)).toEqual(expectedClusterPermissions)
    const role = find<RbacRole>(installed, "Role", "agentplane-leader-election")
    expect(role.metadata.namespace).toBe(namespace)
    expect(permissions(role.rules)).toEqual(expectedLeasePermissions)
    const store = find<RbacRole>(installed, "Role", "agentplane-jwks-store")
    expect(store.metadata.namespace).toBe(namespace)
    expect(permissions(store.rules)).toEqual(expectedJwksStorePermissions)
  })
})

describe("Helm chart (manifests/helm/agentplane)", () => {
  it("passes helm lint --strict, with agentgateway enabled and disabled", async () => {
    expect(await helm(["lint", "--strict", chartDir])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/)
    expect(await helm(["lint", "--strict", chartDir, "--set", "agentgateway.enabled=false"])).toMatch(/0 chart\(s\) failed/)
  })

  it("renders with defaults the same Deployment and Service as the plain manifests", async () => {
    const [chart, plain] = [await template(), installed]
    expect(
      chart
        .filter((o) => o.kind !== "CustomResourceDefinition")
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort()
    ).toEqual(
      plain
        .filter((o) => o.kind !== "Namespace" && o.kind !== "CustomResourceDefinition")
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort()
    )
    const [chartDeployment, plainDeployment] = [find<Deployment>(chart, "Deployment"), find<Deployment>(plain, "Deployment")]
    expect(chartDeployment.spec.replicas).toBe(plainDeployment.spec.replicas)
    expect(chartDeployment.spec.template.metadata.annotations).toEqual(plainDeployment.spec.template.metadata.annotations)
    const { containers: chartContainers, ...chartPod } = chartDeployment.spec.template.spec
    const { containers: plainContainers, ...plainPod } = plainDeployment.spec.template.spec
    expect(chartPod).toEqual(plainPod)
    expect(chartContainers).toEqual(plainContainers)
    expect(flag(containerOf(chartDeployment).args, "--agentgateway")).toBe("enabled")
    expect(find<Service>(chart, "Service").spec).toEqual({ ...find<Service>(plain, "Service").spec, selector: expect.any(Object) })
  })

  it("has the plain manifests' RBAC in substance", async () => {
    const [chart, plain] = [await template(), installed]
    expect(permissions(find<RbacRole>(chart, "ClusterRole").rules)).toEqual(permissions(find<RbacRole>(plain, "ClusterRole").rules))
    for (const role of ["agentplane-leader-election", "agentplane-jwks-store"]) {
      expect(permissions(find<RbacRole>(chart, "Role", role).rules), role).toEqual(permissions(find<RbacRole>(plain, "Role", role).rules))
    }
    for (const [kind, name] of [["ClusterRoleBinding"], ["RoleBinding", "agentplane-leader-election"], ["RoleBinding", "agentplane-jwks-store"]] as const) {
      const [c, p] = [find(chart, kind, name), find(plain, kind, name)]
      expect(c["roleRef"], kind).toEqual(p["roleRef"])
      expect(c["subjects"], kind).toEqual(p["subjects"])
    }
  })

  it("serves the debug endpoints on loopback at debug.port, never on the Service", async () => {
    const objects = await template("debug.port=19093")
    expect(flag(containerOf(find<Deployment>(objects, "Deployment")).args, "--debug-address")).toBe("127.0.0.1:19093")
    expect(find<Service>(objects, "Service").spec.ports.map((p) => p.port)).not.toContain(19093)
  })

  it("passes `--agentgateway disabled` when agentgateway.enabled=false", async () => {
    const args = containerOf(find<Deployment>(await template("agentgateway.enabled=false"), "Deployment")).args
    expect(flag(args, "--agentgateway")).toBe("disabled")
    expect(args.filter((a) => a === "enabled" || a === "disabled")).toEqual(["disabled"])
  })

  it("reflects custom values in the output", async () => {
    const objects = await template(...customValues)
    const deployment = find<Deployment>(objects, "Deployment")
    const container = containerOf(deployment)
    const pod = deployment.spec.template.spec
    expect(deployment.spec.replicas).toBe(2)
    expect(container.image).toBe("registry.example.com/team/agentplane:1.2.3")
    expect(container.imagePullPolicy).toBe("Always")
    expect(container.resources).toEqual({ requests: { cpu: "250m", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } })
    expect(flag(container.args, "--controller-name")).toBe("example.com/agentplane")
    expect(flag(container.args, "--log-level")).toBe("debug")
    expect(flag(container.args, "--external-names")).toBe("localhost,*.example.com")
    expect(flag(container.args, "--xds-address")).toBe("0.0.0.0:19978")
    expect(flag(container.args, "--xds-service-address")).toBe(`agentplane.${namespace}.svc:19978`)
    expect(container.ports).toContainEqual(expect.objectContaining({ name: "xds", containerPort: 19978 }))
    expect(deployment.spec.template.metadata.annotations).toMatchObject({ team: "ai", "prometheus.io/scrape": "true" })
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" })
    expect(pod.tolerations).toEqual([{ key: "dedicated", operator: "Exists" }])
    const service = find<Service>(objects, "Service")
    expect(service.spec.type).toBe("NodePort")
    expect(service.spec.ports).toContainEqual(expect.objectContaining({ name: "xds", port: 19978, targetPort: "xds" }))
    // The tag defaults to the chart's appVersion.
    expect(containerOf(find<Deployment>(await template("image.repository=r.example/ap"), "Deployment")).image).toBe("r.example/ap:0.1.0")
  })

  it("serves xDS over TLS from a Secret when xds.tls.secretName is set", async () => {
    const objects = await template("xds.tls.secretName=agentplane-xds-tls")
    const deployment = find<Deployment>(objects, "Deployment")
    const container = containerOf(deployment)
    expect(flag(container.args, "--xds-tls-cert")).toBe("/etc/agentplane/xds-tls/tls.crt")
    expect(flag(container.args, "--xds-tls-key")).toBe("/etc/agentplane/xds-tls/tls.key")
    expect(flag(container.args, "--xds-tls-ca")).toBe("/etc/agentplane/xds-tls/ca.crt")
    expect(container.volumeMounts).toContainEqual({ name: "xds-tls", mountPath: "/etc/agentplane/xds-tls", readOnly: true })
    expect(deployment.spec.template.spec.volumes).toContainEqual({ name: "xds-tls", secret: { secretName: "agentplane-xds-tls" } })
    expect(find<Service>(objects, "Service").spec.ports.find((p) => p.name === "xds")).not.toHaveProperty("appProtocol")
    const withoutCa = containerOf(find<Deployment>(await template("xds.tls.secretName=s", "xds.tls.passCa=false"), "Deployment"))
    expect(flag(withoutCa.args, "--xds-tls-cert")).toBe("/etc/agentplane/xds-tls/tls.crt")
    expect(withoutCa.args).not.toContain("--xds-tls-ca")
    // Without TLS no TLS flags at all.
    expect(containerOf(find<Deployment>(await template(), "Deployment")).args.filter((a) => a.startsWith("--xds-tls"))).toEqual([])
  })

  it("ships CRDs identical to the generated ones", async () => {
    // Every generated CRD is also in ../crds/kustomization.yaml, through which manifests/install includes them.
    const generated = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort()
    const kustomization = parse(await readFile(path.join(crdDir, "kustomization.yaml"), "utf8")) as { resources: string[] }
    expect([...kustomization.resources].sort()).toEqual(generated)

    // GatewayParameters from crds/ (Helm's own way); AgentgatewayPolicy from a template, so that it can be skipped.
    const gatewayParameters = "gateway.kgateway.dev_gatewayparameters.yaml"
    expect(await readdir(path.join(chartDir, "crds"))).toEqual([gatewayParameters])
    expect(await readFile(path.join(chartDir, "crds", gatewayParameters), "utf8")).toBe(await readFile(path.join(crdDir, gatewayParameters), "utf8"))
    const policyCrd = parse(await readFile(path.join(crdDir, "agentgateway.dev_agentgatewaypolicies.yaml"), "utf8")) as KubeObject
    const rendered = (await template()).filter((o) => o.kind === "CustomResourceDefinition")
    expect(rendered).toHaveLength(1)
    // The same CRD, kept when the release is uninstalled (deleting a CRD deletes every policy).
    expect(rendered[0]).toEqual({ ...policyCrd, metadata: { ...policyCrd.metadata, annotations: { "helm.sh/resource-policy": "keep" } } })
  })

  it("skips its AgentgatewayPolicy CRD with crds.agentgatewayPolicy=false, for clusters with agentgateway's CRDs", async () => {
    const objects = await template("crds.agentgatewayPolicy=false")
    expect(objects.filter((o) => o.kind === "CustomResourceDefinition")).toEqual([])
    // Everything else is as with the default.
    expect(objects.length).toBe((await template()).length - 1)
    expect(await helm(["lint", "--strict", chartDir, "--set", "crds.agentgatewayPolicy=false"])).toMatch(/0 chart\(s\) failed/)
  })
})

// These run in order: the first one creates what the others resolve against.
describe("against a real API server", () => {
  // Namespaced objects need their namespace and GatewayParameters its CRD: those two for real.
  it("accepts the namespace and the CRDs, which then serve the examples' GatewayParameters", async () => {
    await expectAccepted(
      [
        find(installed, "Namespace"),
        find(installed, "CustomResourceDefinition", "gatewayparameters.gateway.kgateway.dev"),
        find(installed, "CustomResourceDefinition", "agentgatewaypolicies.agentgateway.dev")
      ],
      "persist"
    )
    await waitEstablished("gatewayparameters.gateway.kgateway.dev")
    await waitEstablished("agentgatewaypolicies.agentgateway.dev")
    const examplesDir = path.join(root, "manifests", "examples")
    const examples = (await readdir(examplesDir)).filter((f) => f.endsWith(".yaml"))
    const parameters = (await Promise.all(examples.map(async (f) => parseDocuments(await readFile(path.join(examplesDir, f), "utf8"), f))))
      .flat()
      .filter((o) => o.kind === "GatewayParameters")
    expect(parameters.length).toBeGreaterThan(0)
    await expectAccepted(parameters, "dryRun")
  })

  it("accepts every object of the kustomization (server-side apply, dry run)", async () => {
    await expectAccepted(installed, "dryRun")
  })

  it("accepts every object `helm template` renders, with defaults and custom values (dry run)", async () => {
    const withCrds = async (...set: string[]) =>
      parseDocuments(
        await helm(["template", "agentplane", chartDir, "--namespace", namespace, "--include-crds", ...set.flatMap((s) => ["--set", s])]),
        "helm template"
      )
    await expectAccepted(await withCrds(), "dryRun")
    await expectAccepted(await withCrds("agentgateway.enabled=false"), "dryRun")
    await expectAccepted(await withCrds(...customValues), "dryRun")
    await expectAccepted(await withCrds("xds.tls.secretName=agentplane-xds-tls"), "dryRun")
  })

  it("admits the pod under the restricted Pod Security Standard its namespace enforces", async () => {
    const deployment = find<Deployment>(installed, "Deployment")
    const pod = (name: string, spec: PodSpec): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace }, spec })
    await expectAccepted([pod("agentplane-pss-check", deployment.spec.template.spec)], "dryRun")
    // The check has teeth: the same pod without its security settings is refused.
    const { securityContext: _pod, ...insecure } = deployment.spec.template.spec
    const res = await apply(pod("agentplane-pss-negative", { ...insecure, securityContext: {} }), "dryRun")
    expect(res.status).toBe(403)
    expect((JSON.parse(res.body) as { message: string }).message).toMatch(/violates PodSecurity "restricted/)
  })

  it("installs beside an AgentgatewayPolicy CRD it does not own only with crds.agentgatewayPolicy=false", async () => {
    // The CRD is there (applied with the kustomization above), as agentgateway's own would be:
    // Helm will not take over an object it did not create.
    const install = (...set: string[]) =>
      helm([
        "install",
        "crd-check",
        chartDir,
        "--namespace",
        namespace,
        "--dry-run=client",
        "--kubeconfig",
        cluster?.kubeconfigPath ?? "",
        ...set.flatMap((s) => ["--set", s])
      ])
    await expect(install()).rejects.toThrow(/CustomResourceDefinition "agentgatewaypolicies.agentgateway.dev" .*exists and cannot be imported/)
    expect(await install("crds.agentgatewayPolicy=false")).toMatch(/STATUS: pending-install/)
  })

  it("renders NOTES that point a self-managed agentgateway at the xDS Service", async () => {
    const out = await helm([
      "install",
      "notes-check",
      chartDir,
      "--namespace",
      namespace,
      "--dry-run=client",
      "--kubeconfig",
      cluster?.kubeconfigPath ?? "",
      // The CRD exists already (applied above).
      "--set",
      "crds.agentgatewayPolicy=false"
    ])
    const notes = out.slice(out.indexOf("NOTES:"))
    expect(notes).toContain(`XDS_ADDRESS=http://notes-check-agentplane.${namespace}.svc:9978`)
    for (const variable of ["GATEWAY=", "NAMESPACE=", "LOCALITY=", "XDS_AUTH_TOKEN=", "--audience agentgateway"]) expect(notes).toContain(variable)
    expect(notes).toContain(`kubectl -n ${namespace} port-forward deploy/notes-check-agentplane 9093`)
    expect(notes).toContain("curl http://127.0.0.1:9093/debug/config_dump")
  })

  it("lets the service account do its job and nothing more (SubjectAccessReview)", async () => {
    const rbacKinds = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    await expectAccepted(
      installed.filter((o) => rbacKinds.includes(o.kind)),
      "persist"
    )

    const gw = "gateway.networking.k8s.io"
    const allowed: Access[] = [
      { verb: "watch", group: gw, resource: "gateways" },
      { verb: "list", group: gw, resource: "gatewayclasses" },
      { verb: "patch", group: gw, resource: "gateways", subresource: "status", namespace: "team-a" },
      { verb: "patch", group: gw, resource: "gatewayclasses", subresource: "status" },
      { verb: "watch", group: "gateway.kgateway.dev", resource: "gatewayparameters" },
      { verb: "list", resource: "services" },
      { verb: "watch", resource: "namespaces" },
      { verb: "create", group: "events.k8s.io", resource: "events", namespace: "team-a" },
      { verb: "create", group: "apps", resource: "deployments", namespace: "team-a" },
      { verb: "patch", group: "apps", resource: "deployments", namespace: "team-a" },
      { verb: "delete", group: "apps", resource: "deployments", namespace: "team-a" },
      { verb: "watch", group: "apps", resource: "deployments" },
      { verb: "patch", resource: "services", namespace: "team-a" },
      { verb: "delete", resource: "configmaps", namespace: "team-a" },
      { verb: "create", resource: "serviceaccounts", namespace: "team-a" },
      { verb: "create", resource: "secrets", namespace: "team-a" },
      { verb: "delete", resource: "secrets", namespace: "team-a" },
      // The Secrets policies reference: each watched by name, or by the policy's labels.
      { verb: "get", resource: "secrets", namespace: "team-a" },
      { verb: "list", resource: "secrets", namespace: "team-a" },
      { verb: "watch", resource: "secrets", namespace: "team-a" },
      { verb: "watch", group: "agentgateway.dev", resource: "agentgatewaypolicies" },
      { verb: "list", group: "agentgateway.dev", resource: "agentgatewaypolicies" },
      { verb: "patch", group: "agentgateway.dev", resource: "agentgatewaypolicies", subresource: "status", namespace: "team-a" },
      { verb: "create", group: "authentication.k8s.io", resource: "tokenreviews" },
      { verb: "get", group: "coordination.k8s.io", resource: "leases", namespace },
      { verb: "create", group: "coordination.k8s.io", resource: "leases", namespace },
      { verb: "update", group: "coordination.k8s.io", resource: "leases", namespace },
      { verb: "list", resource: "configmaps", namespace },
      { verb: "watch", resource: "configmaps", namespace },
      { verb: "patch", resource: "configmaps", namespace },
      { verb: "delete", resource: "configmaps", namespace }
    ]
    const denied: Access[] = [
      { verb: "patch", resource: "secrets", namespace: "team-a" },
      { verb: "update", resource: "secrets", namespace: "team-a" },
      { verb: "patch", group: "agentgateway.dev", resource: "agentgatewaypolicies", namespace: "team-a" },
      { verb: "delete", group: "agentgateway.dev", resource: "agentgatewaypolicies", namespace: "team-a" },
      { verb: "update", group: "agentgateway.dev", resource: "agentgatewaypolicies", subresource: "status", namespace: "team-a" },
      { verb: "list", resource: "configmaps" },
      { verb: "watch", resource: "configmaps", namespace: "team-a" },
      { verb: "update", group: "apps", resource: "deployments", namespace: "team-a" },
      { verb: "patch", group: "apps", resource: "deployments", subresource: "status", namespace: "team-a" },
      { verb: "create", resource: "pods", namespace: "team-a" },
      { verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "team-a" },
      { verb: "update", resource: "services", namespace: "team-a" },
      { verb: "update", group: gw, resource: "gateways", namespace: "team-a" },
      { verb: "patch", group: gw, resource: "gateways", namespace: "team-a" },
      { verb: "update", group: gw, resource: "gateways", subresource: "status", namespace: "team-a" },
      { verb: "delete", group: gw, resource: "gatewayclasses" },
      { verb: "list", group: gw, resource: "httproutes" },
      { verb: "create", resource: "events", namespace: "team-a" },
      { verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "default" },
      { verb: "delete", group: "coordination.k8s.io", resource: "leases", namespace },
      { verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles" }
    ]
    const verdicts = await Promise.all([...allowed, ...denied].map(async (a) => `${describeAccess(a)}: ${(await serviceAccountCan(a)) ? "yes" : "no"}`))
    expect(verdicts).toEqual([...allowed.map((a) => `${describeAccess(a)}: yes`), ...denied.map((a) => `${describeAccess(a)}: no`)])
  })
})
