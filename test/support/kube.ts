// Small helpers for tests against the harness API server.
import { readFileSync } from "node:fs"
import type { Agent } from "node:https"
import { parse } from "yaml"
import type { Cluster } from "../harness/kube/cluster.ts"
import { kubeRequest } from "../harness/kube/request.ts"

export interface Kube {
  readonly call: <A = any>(method: string, path: string, body?: unknown, contentType?: string) => Promise<{ status: number; body: A }>
  /** Like call, but throws unless the status is 2xx. */
  readonly must: <A = any>(method: string, path: string, body?: unknown, contentType?: string) => Promise<A>
}

/** `agent`: a keep-alive agent, for benchmarks that time writes rather than TLS handshakes. */
export const kubeClient = (cluster: Cluster, token = cluster.token, agent?: Agent): Kube => {
  const endpoint = { server: cluster.server, ca: readFileSync(cluster.caFile, "utf8"), token, ...(agent === undefined ? {} : { agent }) }
  const call = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const response = await kubeRequest(endpoint, method, path, body, contentType)
    return { status: response.status, body: response.body === "" ? undefined : JSON.parse(response.body) }
  }
  return {
    call,
    must: async (method, path, body, contentType) => {
      const response = await call(method, path, body, contentType)
      if (response.status < 200 || response.status > 299) {
        throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`)
      }
      return response.body
    }
  }
}

/** Polls until `check` returns a value other than undefined. */
export const eventually = async <A>(check: () => Promise<A | undefined>, what: string, timeoutMs = 20_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? "" : ` (last error: ${String(last)})`}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export const readYaml = (file: string): any => parse(readFileSync(file, "utf8"))

/** Installs a CRD and waits until it is served. */
export const installCrd = async (kube: Kube, crd: any) => {
  await kube.must("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
  await eventually(async () => {
    const read = await kube.must("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`)
    return read.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True") ? true : undefined
  }, `CRD ${crd.metadata.name} established`)
}

/** agentplane's own CRDs (manifests/crds): every kind it watches beyond the Gateway API's. */
export const OUR_CRDS = ["manifests/crds/gateway.kgateway.dev_gatewayparameters.yaml", "manifests/crds/agentgateway.dev_agentgatewaypolicies.yaml"] as const

export const installOurCrds = async (kube: Kube) => {
  for (const file of OUR_CRDS) await installCrd(kube, readYaml(file))
}

export const condition = (object: any, type: string) => object?.status?.conditions?.find((c: any) => c.type === type)

/**
 * A token of ServiceAccount `namespace/name` from the TokenRequest API (the ServiceAccount is
 * created when missing), for `audiences` — by default agentgateway's, as a proxy's projected token.
 */
export const serviceAccountToken = async (kube: Kube, namespace: string, name: string, audiences: ReadonlyArray<string> = ["agentgateway"]) => {
  const created = await kube.call("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } })
  if (created.status !== 201 && created.status !== 409)
    throw new Error(`ServiceAccount ${namespace}/${name}: ${created.status} ${JSON.stringify(created.body)}`)
  const request = await kube.must("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { ...(audiences.length === 0 ? {} : { audiences }), expirationSeconds: 3600 }
  })
  return request.status.token as string
}
