// An in-memory Kubernetes API for unit tests of the modules that talk to one
// (leader election, status writing, deployer): objects by path, resourceVersions
// that make a stale PUT conflict, and a switch that makes the server unreachable.
// Server-side apply replaces the object whole (one field manager is all these
// modules use). Only what those modules use; anything else answers 405 so a
// test notices.
import { Effect } from "effect"
import { KubeApi, KubeApiError, type KubeMethod, type RequestBody } from "../../src/kube/kubeApi.ts"

interface Stored {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string; readonly uid?: string; readonly [field: string]: unknown }
  readonly [field: string]: unknown
}

export interface MemoryKubeApi {
  readonly layer: ReturnType<typeof KubeApi.layerTest>
  /** The object at an object path, as the server holds it. */
  readonly get: (path: string) => Stored | undefined
  /** Stores an object as another client would (a new resourceVersion). */
  readonly put: (path: string, object: Stored) => void
  /** Paths of the objects held, sorted. */
  readonly paths: () => ReadonlyArray<string>
  /** Every request so far, as `METHOD path`. */
  readonly requests: Array<string>
  /** While true, every request fails as if the server could not be reached. */
  readonly setDown: (down: boolean) => void
}

const clone = <A>(value: A): A => structuredClone(value)

export const memoryKubeApi = (): MemoryKubeApi => {
  const objects = new Map<string, Stored>()
  const requests: Array<string> = []
  let version = 0
  let down = false

  /** A new resourceVersion; the uid of the object it replaces, or a new one. */
  const store = (path: string, object: Stored): Stored => {
    version += 1
    const uid = objects.get(path)?.metadata.uid ?? `uid-${version}`
    const stored = { ...clone(object), metadata: { ...object.metadata, resourceVersion: String(version), uid } }
    objects.set(path, stored)
    return clone(stored)
  }

  const refuse = (method: KubeMethod, path: string, status: number, reason: string, message: string) =>
    Effect.fail(new KubeApiError({ method, path, status, reason, message }))

  const request = <A>(method: KubeMethod, path: string, body?: RequestBody): Effect.Effect<A, KubeApiError> =>
    Effect.suspend(() => {
      requests.push(`${method} ${path}`)
      if (down) return refuse(method, path, 0, "Unreachable", "connect ECONNREFUSED")
      const sent = body?.json as Stored | undefined
      switch (method) {
        case "GET": {
          const found = objects.get(path)
          return found === undefined ? refuse(method, path, 404, "NotFound", `${path} not found`) : Effect.succeed(clone(found) as A)
        }
        case "POST": {
          const at = `${path}/${sent?.metadata.name ?? ""}`
          if (objects.has(at)) return refuse(method, path, 409, "AlreadyExists", `${at} already exists`)
          return Effect.succeed(store(at, sent!) as A)
        }
        case "PUT": {
          const found = objects.get(path)
          if (found === undefined) return refuse(method, path, 404, "NotFound", `${path} not found`)
          if (sent?.metadata.resourceVersion !== found.metadata.resourceVersion) {
            return refuse(method, path, 409, "Conflict", "the object has been modified; please apply your changes to the latest version and try again")
          }
          return Effect.succeed(store(path, sent!) as A)
        }
        case "PATCH": {
          const [at, query] = path.split("?") as [string, string | undefined]
          if (body?.contentType !== "application/apply-patch+yaml" || !query?.includes("fieldManager=")) break
          return Effect.succeed(store(at, sent!) as A)
        }
        case "DELETE": {
          const found = objects.get(path)
          if (found === undefined) return refuse(method, path, 404, "NotFound", `${path} not found`)
          const uid = (sent as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid
          if (uid !== undefined && uid !== found.metadata.uid) return refuse(method, path, 409, "Conflict", `precondition failed: uid ${uid}`)
          objects.delete(path)
          return Effect.succeed(undefined as A)
        }
      }
      return refuse(method, path, 405, "MethodNotAllowed", `the in-memory API does not answer ${method} ${path}`)
    })

  return {
    layer: KubeApi.layerTest(request),
    get: (path) => {
      const found = objects.get(path)
      return found === undefined ? undefined : clone(found)
    },
    put: (path, object) => {
      store(path, object)
    },
    paths: () => [...objects.keys()].sort(),
    requests,
    setDown: (value) => {
      down = value
    }
  }
}
