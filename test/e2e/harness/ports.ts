// Free TCP ports for the processes of a scenario. The port is found by
// listening on port 0 and closing again, so another process could take it
// before ours binds; that race is rare on a test machine, and a process that
// loses it fails its readiness wait with its log (EADDRINUSE) instead of
// hanging.
import { createServer } from "node:net"

/**
 * One free port. The probe listens without a host — dual-stack `::` where
 * IPv6 exists — so the port is free on IPv4 and IPv6 loopback alike: peers
 * listen dual-stack too, because the proxy may resolve `localhost` to `::1`.
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, () => {
      const address = server.address()
      if (address === null || typeof address === "string") {
        server.close()
        reject(new Error(`unexpected probe address ${String(address)}`))
        return
      }
      server.close(() => resolve(address.port))
    })
  })

/** `count` distinct free ports (distinct even if the OS hands the same one out twice). */
export const freePorts = async (count: number): Promise<Array<number>> => {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}
