// Installs the Gateway API standard channel (CRDs plus its safe-upgrades admission policy) and
// waits until every CRD is Established and its resources are actually served.
import { readdir, readFile } from "node:fs/promises"
import * as path from "node:path"
import { parseAllDocuments } from "yaml"
import { kubeRequest, type KubeEndpoint } from "./request.ts"

interface Manifest {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string }
  readonly spec?: {
    readonly group?: string
    readonly names?: { readonly plural?: string }
    readonly versions?: ReadonlyArray<{ readonly name: string; readonly served?: boolean; readonly storage?: boolean }>
  }
}

// The only kinds the bundle contains, all cluster-scoped.
const plurals: Record<string, string> = {
  CustomResourceDefinition: "customresourcedefinitions",
  ValidatingAdmissionPolicy: "validatingadmissionpolicies",
  ValidatingAdmissionPolicyBinding: "validatingadmissionpolicybindings"
}

export async function readManifests(dir: string): Promise<Manifest[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort()
  const manifests: Manifest[] = []
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`)
      const value = doc.toJSON() as Manifest | null
      if (value !== null) manifests.push(value)
    }
  }
  return manifests
}

/** Server-side applies every manifest in `dir`; returns the CRD names once all are served. */
export async function installGatewayApiCrds(endpoint: KubeEndpoint, dir: string, timeoutMs = 60_000): Promise<string[]> {
  const manifests = await readManifests(dir)
  for (const manifest of manifests) {
    const plural = plurals[manifest.kind]
    if (plural === undefined) throw new Error(`${dir}: unexpected kind ${manifest.kind}`)
    const url = `/apis/${manifest.apiVersion}/${plural}/${manifest.metadata.name}?fieldManager=agentplane-test-harness&force=true`
    const res = await kubeRequest(endpoint, "PATCH", url, manifest, "application/apply-patch+yaml")
    if (res.status >= 300) throw new Error(`applying ${manifest.kind} ${manifest.metadata.name}: HTTP ${res.status} ${res.body}`)
  }

  const crds = manifests.filter((m) => m.kind === "CustomResourceDefinition")
  const deadline = Date.now() + timeoutMs
  const pending = new Set(crds.map((c) => c.metadata.name))
  while (pending.size > 0) {
    for (const crd of crds) {
      if (pending.has(crd.metadata.name) && (await isServed(endpoint, crd))) pending.delete(crd.metadata.name)
    }
    if (pending.size === 0) break
    if (Date.now() > deadline) throw new Error(`Gateway API CRDs not established after ${timeoutMs} ms: ${[...pending].join(", ")}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return crds.map((c) => c.metadata.name)
}

// Established alone can precede the moment the new endpoints answer, so list the resource too.
async function isServed(endpoint: KubeEndpoint, crd: Manifest): Promise<boolean> {
  const res = await kubeRequest(endpoint, "GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`)
  if (res.status !== 200) return false
  const status = JSON.parse(res.body) as { status?: { conditions?: Array<{ type: string; status: string }> } }
  if (!status.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) return false
  const version = crd.spec?.versions?.find((v) => v.storage)?.name
  const list = await kubeRequest(endpoint, "GET", `/apis/${crd.spec?.group}/${version}/${crd.spec?.names?.plural}?limit=1`)
  return list.status === 200
}
