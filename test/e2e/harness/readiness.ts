// Readiness probes: how a scenario knows a process can be used. A probe is
// one attempt; `waitFor` repeats it until it passes, the process dies, or
// time runs out.
import { connect } from "node:net"

/** Resolves true when the probe passes, false when it should be tried again. */
export type Probe = () => Promise<boolean>

export type Readiness =
  /** A TCP connection to 127.0.0.1:port is accepted. */
  | { readonly tcp: number }
  /** A GET of the URL answers 200. */
  | { readonly http: string }

export const tcpAccepts =
  (port: number, host = "127.0.0.1"): Probe =>
  () =>
    new Promise((resolve) => {
      const socket = connect({ port, host })
      const done = (ok: boolean) => {
        socket.destroy()
        resolve(ok)
      }
      socket.setTimeout(1_000, () => done(false))
      socket.once("connect", () => done(true))
      socket.once("error", () => done(false))
    })

export const httpOk =
  (url: string): Probe =>
  async () => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      // Drain the body so the connection is released.
      await response.arrayBuffer()
      return response.status === 200
    } catch {
      return false
    }
  }

export const probeOf = (readiness: Readiness): Probe => ("tcp" in readiness ? tcpAccepts(readiness.tcp) : httpOk(readiness.http))

export const describeReadiness = (readiness: Readiness): string =>
  "tcp" in readiness ? `TCP 127.0.0.1:${readiness.tcp} accepting` : `GET ${readiness.http} answering 200`

export class NotReadyError extends Error {
  override readonly name = "NotReadyError"
}

/**
 * Polls `probe` every 100 ms. `gaveUp` is checked between attempts so a
 * process that exited fails the wait at once instead of at the timeout; it
 * returns the reason to give up, or undefined to keep waiting.
 */
export const waitFor = async (
  probe: Probe,
  options: { readonly what: string; readonly timeoutMs: number; readonly gaveUp?: () => string | undefined }
): Promise<void> => {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    if (await probe()) return
    const reason = options.gaveUp?.()
    if (reason !== undefined) throw new NotReadyError(`${options.what}: ${reason}`)
    if (Date.now() >= deadline) throw new NotReadyError(`${options.what}: not ready after ${options.timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Polls an async condition until it holds; for "eventually" assertions against live processes. */
export const eventually = async <A>(
  attempt: () => Promise<A>,
  holds: (value: A) => boolean,
  options: { readonly what: string; readonly timeoutMs?: number; readonly intervalMs?: number }
): Promise<A> => {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  let last: A | undefined
  let lastError: unknown
  for (;;) {
    try {
      last = await attempt()
      lastError = undefined
      if (holds(last)) return last
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) {
      const seen = lastError !== undefined ? `last error: ${String(lastError)}` : `last value: ${JSON.stringify(last)}`
      throw new Error(`timed out waiting for ${options.what}; ${seen}`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250))
  }
}
