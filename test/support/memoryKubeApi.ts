// An in-memory Kubernetes API for unit tests of the modules that talk to one
// (leader election, status writing, deployer): objects by path, resourceVersions
// that make a stale PUT conflict, and a switch that makes the server unreachable.
// Only what those modules use; anything else answers 405 so a test notices.
import { Effect } from "effect"
import { KubeApi, KubeApiError, type KubeMethod, type RequestBody } from "../../src/kube/kubeApi.ts"

interface Stored {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string; readonly [field: string]: unknown }
  readonly [field: string]: unknown
}

export interface MemoryKubeApi {
  readonly layer: ReturnType<typeof KubeApi.layerTest>
  /** The object at an object path, as the server holds it. */
  readonly get: (path: string) => Stored | undefined
  /** Stores an object as another client would (a new resourceVersion). */
  readonly put: (path: string, object: Stored) => void
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

  const store = (path: string, object: Stored): Stored => {
    version += 1
    const stored = { ...clone(object), metadata: { ...object.metadata, resourceVersion: String(version) } }
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
        case "DELETE":
          return objects.delete(path) ? Effect.succeed(undefined as A) : refuse(method, path, 404, "NotFound", `${path} not found`)
        default:
          return refuse(method, path, 405, "MethodNotAllowed", `the in-memory API does not answer ${method}`)
      }
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
    requests,
    setDown: (value) => {
      down = value
    }
  }
}
