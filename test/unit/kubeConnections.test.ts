// KubeApi's connections to the API server, seen from a local TLS server:
// requests share connections instead of a handshake each, credentials are
// still read per request, a rotated client certificate gets a new connection
// (and the old one is closed), and releasing the layer closes them all.
import { execFileSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type ServerOptions } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TLSSocket } from "node:tls"
import { Effect, ManagedRuntime } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { KubeApi } from "../../src/kube/kubeApi.ts"

let dir: string
let kubeconfigs = 0
const cleanups: Array<() => Promise<void>> = []

/** A self-signed EC certificate and key, `<name>.crt` and `<name>.key` (Node cannot issue X.509). */
const selfSigned = (name: string, extensions: Array<string> = []) =>
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      ...extensions,
      "-days",
      "1",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`
    ],
    { cwd: dir, stdio: "pipe" }
  )

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "agentplane-connections-"))
  selfSigned("server", ["-addext", "subjectAltName=IP:127.0.0.1"])
  selfSigned("client-a")
  selfSigned("client-b")
})
afterEach(async () => {
  vi.useRealTimers()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Connection {
  readonly socket: TLSSocket
  /** The client certificate's CN, read while the socket is open. */
  readonly client: string | Array<string> | undefined
  closed: boolean
}

/** An HTTPS server on loopback that records every TLS connection and the Authorization of every request. */
const listen = async (options: ServerOptions = {}) => {
  const connections: Array<Connection> = []
  const requests: Array<{ readonly authorization: string | undefined; readonly connection: number }> = []
  const server = createServer({ ...options, key: readFileSync(join(dir, "server.key")), cert: readFileSync(join(dir, "server.crt")) }, (req, res) => {
    requests.push({ authorization: req.headers.authorization, connection: connections.findIndex((c) => c.socket === req.socket) })
    res.setHeader("content-type", "application/json")
    res.end(JSON.stringify({ path: req.url }))
  })
  // Long enough that only the client closing a connection explains it closing during a test.
  server.keepAliveTimeout = 120_000
  server.on("secureConnection", (socket: TLSSocket) => {
    const connection: Connection = { socket, client: socket.getPeerCertificate()?.subject?.CN, closed: false }
    connections.push(connection)
    socket.on("close", () => (connection.closed = true))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(() => resolve()))
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("the server has no port")
  return { url: `https://127.0.0.1:${address.port}`, connections, requests }
}

/** A kubeconfig for `server`, trusting its certificate inline, with `user` as the credentials. */
const kubeconfig = (server: string, user: object) => {
  const file = join(dir, `kubeconfig-${++kubeconfigs}`)
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "test",
      clusters: [{ name: "test", cluster: { server, "certificate-authority-data": readFileSync(join(dir, "server.crt")).toString("base64") } }],
      users: [{ name: "test", user }],
      contexts: [{ name: "test", context: { cluster: "test", user: "test" } }]
    })
  )
  return file
}

const kubeApi = (file: string) => {
  const runtime = ManagedRuntime.make(KubeApi.layer(file))
  cleanups.push(() => runtime.dispose())
  const get = (path = "/version") =>
    runtime.runPromise(
      Effect.gen(function* () {
        const api = yield* KubeApi
        return yield* api.request<{ path: string }>("GET", path)
      })
    )
  return { runtime, get }
}

const sequentially = async (count: number, run: () => Promise<unknown>) => {
  for (let i = 0; i < count; i++) await run()
}
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
/** `run` one event-loop turn later: undici reuses a socket only a turn after its response. */
const afterATurn = (run: () => Promise<unknown>) => async () => {
  await nextTurn()
  await run()
}
const concurrently = (count: number, run: () => Promise<unknown>) => Promise.all(Array.from({ length: count }, run))

describe("KubeApi connections", () => {
  it("shares TLS connections between requests and sends a rotated token on the same connection", async () => {
    const server = await listen()
    const tokenFile = join(dir, "token")
    writeFileSync(tokenFile, "token-1")
    // The in-cluster kind of user: client-node re-reads this file (a kubeconfig `token-file` is read once, at load).
    const api = kubeApi(kubeconfig(server.url, { "auth-provider": { name: "tokenFile", config: { tokenFile } } }))

    expect(await api.get("/api")).toEqual({ path: "/api" })
    await sequentially(9, afterATurn(api.get))
    expect(server.requests).toHaveLength(10)
    expect(server.connections).toHaveLength(1)

    // undici reuses a socket only one event-loop turn after its response: back to back, requests alternate between two.
    await sequentially(10, () => api.get())
    expect(server.connections.length).toBeLessThanOrEqual(2)

    await nextTurn()
    await concurrently(5, () => api.get())
    await nextTurn()
    await concurrently(5, () => api.get())
    expect(server.requests).toHaveLength(30)
    // Never more connections than requests at once: idle ones are reused.
    expect(server.connections.length).toBeLessThanOrEqual(5)
    expect(server.requests.map((r) => r.authorization)).toEqual(Array(30).fill("Bearer token-1"))

    const opened = server.connections.length
    writeFileSync(tokenFile, "token-2")
    // client-node re-reads the token file once a minute.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 })
    await sequentially(3, afterATurn(api.get))
    expect(server.requests.slice(-3).map((r) => r.authorization)).toEqual(Array(3).fill("Bearer token-2"))
    expect(server.connections).toHaveLength(opened)
    expect(server.connections.some((c) => c.closed)).toBe(false)
  })

  it("opens a new connection for a rotated client certificate and closes the old one", async () => {
    const server = await listen({ requestCert: true, rejectUnauthorized: false })
    const certFile = join(dir, "client.crt")
    const keyFile = join(dir, "client.key")
    const present = (name: string) => {
      copyFileSync(join(dir, `${name}.crt`), certFile)
      copyFileSync(join(dir, `${name}.key`), keyFile)
    }
    present("client-a")
    const api = kubeApi(kubeconfig(server.url, { "client-certificate": certFile, "client-key": keyFile, token: "static" }))

    await sequentially(3, afterATurn(api.get))
    expect(server.connections.map((c) => c.client)).toEqual(["client-a"])

    present("client-b")
    await sequentially(3, afterATurn(api.get))
    expect(server.connections.map((c) => c.client)).toEqual(["client-a", "client-b"])
    expect(server.requests.map((r) => r.connection)).toEqual([0, 0, 0, 1, 1, 1])
    expect(server.requests.every((r) => r.authorization === "Bearer static")).toBe(true)
    await vi.waitFor(() => expect(server.connections[0]!.closed).toBe(true), { timeout: 2_000 })
    expect(server.connections[1]!.closed).toBe(false)
  })

  it("closes its connections when the layer is released", async () => {
    const server = await listen()
    const api = kubeApi(kubeconfig(server.url, { token: "static" }))
    await concurrently(3, () => api.get())
    expect(server.connections.length).toBeGreaterThan(0)
    expect(server.connections.some((c) => c.closed)).toBe(false)

    await api.runtime.dispose()
    // Without closing, undici would keep them for the server's keep-alive timeout (two minutes).
    await vi.waitFor(() => expect(server.connections.every((c) => c.closed)).toBe(true), { timeout: 2_000 })
  })
})
