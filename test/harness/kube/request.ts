// A minimal authenticated HTTPS call to the test API server. The harness uses it instead of a
// Kubernetes client so that starting the cluster depends on nothing but Node.
import { type Agent, request } from "node:https"

export interface KubeEndpoint {
  readonly server: string
  readonly ca: string
  readonly token: string
  /** A keep-alive agent for callers that time requests; by default each call has its own connection. */
  readonly agent?: Agent
}

export interface KubeResponse {
  readonly status: number
  readonly body: string
}

export function kubeRequest(endpoint: KubeEndpoint, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<KubeResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, endpoint.server),
      {
        method,
        ca: endpoint.ca,
        // A fresh connection per call unless asked: pooled sockets go stale when the API server restarts.
        agent: endpoint.agent ?? false,
        timeout: 15_000,
        headers: {
          authorization: `Bearer ${endpoint.token}`,
          accept: "application/json",
          ...(payload === undefined ? {} : { "content-type": contentType, "content-length": Buffer.byteLength(payload) })
        }
      },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          text += chunk
        })
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
        res.on("error", reject)
      }
    )
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)))
    req.on("error", reject)
    req.end(payload)
  })
}
