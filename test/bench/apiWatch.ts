// The API server's own share of propagation: a plain watch on Services,
// timing when each patched port arrives, with no agentplane in between.
import { request } from "node:https"
import { readFileSync } from "node:fs"
import type { Cluster } from "../harness/kube/cluster.ts"

export interface ApiWatch {
  /** When the watch delivered `namespace/name` with `port`, if it did. */
  readonly arrival: (namespace: string, name: string, port: number) => number | undefined
  readonly stop: () => void
}

/** The resourceVersion the API server is at now (a one-item list, so it costs next to nothing). */
const currentResourceVersion = (cluster: Cluster): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = request(
      new URL("/api/v1/services?limit=1", cluster.server),
      {
        ca: readFileSync(cluster.caFile, "utf8"),
        headers: { authorization: `Bearer ${cluster.token}` }
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (body += chunk))
        res.on("end", () => {
          try {
            resolve(JSON.parse(body).metadata.resourceVersion)
          } catch {
            reject(new Error(`could not read the resourceVersion (${res.statusCode}): ${body.slice(0, 200)}`))
          }
        })
      }
    )
    req.on("error", reject)
    req.end()
  })

/**
 * Watches from the current resourceVersion: a watch without one first replays every existing
 * Service, which at 10,000 Services loads the API server and delays the events being timed.
 */
export const watchServices = async (cluster: Cluster): Promise<ApiWatch> => {
  const resourceVersion = await currentResourceVersion(cluster)
  return new Promise((resolve, reject) => {
    const seen = new Map<string, number>()
    const req = request(
      new URL(`/api/v1/services?watch=true&allowWatchBookmarks=false&resourceVersion=${resourceVersion}`, cluster.server),
      {
        ca: readFileSync(cluster.caFile, "utf8"),
        agent: false,
        headers: { authorization: `Bearer ${cluster.token}` }
      },
      (res) => {
        let buffer = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          const at = performance.now()
          buffer += chunk
          let newline = buffer.indexOf("\n")
          while (newline >= 0) {
            const line = buffer.slice(0, newline)
            buffer = buffer.slice(newline + 1)
            newline = buffer.indexOf("\n")
            try {
              const event = JSON.parse(line)
              const object = event.object
              for (const port of object?.spec?.ports ?? []) {
                const key = `${object.metadata.namespace}/${object.metadata.name}:${port.port}`
                if (!seen.has(key)) seen.set(key, at)
              }
            } catch {}
          }
        })
        resolve({
          arrival: (namespace, name, port) => seen.get(`${namespace}/${name}:${port}`),
          stop: () => req.destroy()
        })
      }
    )
    req.on("error", reject)
    req.end()
  })
}
