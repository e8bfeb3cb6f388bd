// One connection pool per TLS identity to the API server. client-node's
// applySecurityAuthentication builds a new undici Agent on every call, so each
// request paid a full TLS handshake and left a socket open until keep-alive
// expiry. Credentials are still read for every request (token files rotate,
// exec plugins refresh), but the dispatcher is kept while the TLS material is
// the same; when it changes (a rotated client certificate) a new one is built
// and the old one closed after its last request.
import { createHash, type Hash } from "node:crypto"
import type { RequestOptions } from "node:https"
import { HttpMethod, type KubeConfig, RequestContext } from "@kubernetes/client-node"
import type { Dispatcher } from "undici"

export interface KubeConnection {
  /** Authorization (and impersonation) headers, fresh for this request. */
  readonly headers: Readonly<Record<string, string>>
  /** Undefined when client-node has none for the cluster (plain http): undici's global one. */
  readonly dispatcher: Dispatcher | undefined
}

export interface KubeConnections {
  /** Runs one request with fresh credentials and the shared dispatcher for their TLS material. */
  readonly use: <A>(request: (connection: KubeConnection) => Promise<A>) => Promise<A>
  /** Closes every dispatcher once its requests in flight have finished; later requests fail. */
  readonly close: () => Promise<void>
}

interface Pool {
  readonly fingerprint: string
  readonly dispatcher: Promise<Dispatcher | undefined>
  /** Requests that took this pool and have not finished. */
  leases: number
  closing?: Promise<void>
}

export const kubeConnections = (config: KubeConfig): KubeConnections => {
  let current: Pool | undefined
  /** Replaced pools still serving requests that took them. */
  const draining = new Set<Pool>()
  let closed = false

  const shut = (pool: Pool): Promise<void> => {
    draining.delete(pool)
    pool.closing ??= pool.dispatcher
      .then(
        (dispatcher) => dispatcher?.close(),
        () => {}
      )
      .catch(() => {})
    return pool.closing
  }

  const open = (fingerprint: string, server: string): Pool => {
    // client-node's own mapping, so proxy-url (HTTP and SOCKS) keeps working;
    // createDispatcherOptions alone would not do, its SOCKS connector is not
    // exported. It reads the material again: if that is newer than the
    // fingerprint, the next request misses and rebuilds, nothing worse.
    const context = new RequestContext(server, HttpMethod.GET)
    const pool: Pool = {
      fingerprint,
      dispatcher: config.applySecurityAuthentication(context).then(() => context.getDispatcher()),
      leases: 0
    }
    // A failed build (an exec plugin down) is not kept: the next request tries again.
    pool.dispatcher.catch(() => {
      if (current === pool) current = undefined
    })
    return pool
  }

  const use = async <A>(request: (connection: KubeConnection) => Promise<A>): Promise<A> => {
    const options: RequestOptions = {}
    await config.applyToHTTPSOptions(options)
    if (closed) throw new Error("the connections to the Kubernetes API server are closed")
    const cluster = config.getCurrentCluster()
    // Everything client-node builds a dispatcher from.
    const fingerprint = fingerprintOf([
      cluster?.server,
      cluster?.proxyUrl,
      cluster?.skipTLSVerify,
      options.ca,
      options.cert,
      options.key,
      options.pfx,
      options.passphrase,
      options.rejectUnauthorized,
      options.servername
    ])
    // Checked and replaced without an await in between: concurrent requests share one build.
    if (current?.fingerprint !== fingerprint) {
      const previous = current
      current = open(fingerprint, cluster?.server ?? "")
      if (previous !== undefined) {
        draining.add(previous)
        if (previous.leases === 0) void shut(previous)
      }
    }
    const pool = current
    pool.leases++
    try {
      return await request({ headers: headersOf(options), dispatcher: await pool.dispatcher })
    } finally {
      pool.leases--
      if (pool.leases === 0 && pool !== current) void shut(pool)
    }
  }

  const close = async (): Promise<void> => {
    closed = true
    const pools = [...draining, ...(current === undefined ? [] : [current])]
    current = undefined
    await Promise.all(pools.map(shut))
  }

  return { use, close }
}

const headersOf = (options: RequestOptions): Record<string, string> => {
  const headers: Record<string, string> = {}
  // applyToHTTPSOptions leaves basic auth in `auth`; a token header, copied after, wins as in client-node.
  if (options.auth) headers["Authorization"] = `Basic ${Buffer.from(options.auth).toString("base64")}`
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value !== undefined) headers[name] = String(value)
  }
  return headers
}

/** sha256 of an unambiguous encoding of strings, bytes, arrays and PFX objects: no secret kept as a key. */
const fingerprintOf = (material: ReadonlyArray<unknown>): string => {
  const hash = createHash("sha256")
  feed(hash, material)
  return hash.digest("base64url")
}

const feed = (hash: Hash, value: unknown): void => {
  if (typeof value === "string") {
    hash.update(`s${Buffer.byteLength(value)}:`).update(value)
  } else if (value instanceof Uint8Array) {
    hash.update(`b${value.byteLength}:`).update(value)
  } else if (Array.isArray(value)) {
    hash.update(`a${value.length}:`)
    for (const item of value) feed(hash, item)
  } else if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    hash.update(`o${entries.length}:`)
    for (const [name, item] of entries) {
      feed(hash, name)
      feed(hash, item)
    }
  } else {
    // undefined, null, booleans, numbers
    hash.update(`${String(value)};`)
  }
}
