// TLS for the xDS port: certificate and key from files (typically a mounted
// Secret), re-read every minute so that a renewed certificate is served
// without a restart. The pair is read once at start, so a bad one fails the
// start with a readable message; later a bad read (a Secret caught halfway
// through an update) keeps the last good pair instead of dropping every
// connection.
import * as grpc from "@grpc/grpc-js"
import { readFileSync } from "node:fs"
import { createSecureContext } from "node:tls"
import { Effect, Result, Schema } from "effect"

export interface XdsTls {
  readonly certFile: string
  readonly keyFile: string
}

/** The certificate or key given for xDS TLS cannot be used. */
export class XdsTlsError extends Schema.TaggedError<XdsTlsError>()("XdsTlsError", {
  message: Schema.String
}) {}

type Identity = grpc.experimental.IdentityCertificateUpdate
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener

const REFRESH_MS = 60_000

/** The pair in the files, or why it cannot be used. */
export const readKeyPair = (tls: XdsTls): Result.Result<Identity, XdsTlsError> =>
  Result.try({
    try: () => {
      const pair = { certificate: readFileSync(tls.certFile), privateKey: readFileSync(tls.keyFile) }
      createSecureContext({ cert: pair.certificate, key: pair.privateKey })
      return pair
    },
    catch: (error) =>
      new XdsTlsError({
        message: `cannot use ${tls.certFile} and ${tls.keyFile} as the xDS TLS certificate and key: ${error instanceof Error ? error.message : String(error)}`
      })
  })

/**
 * grpc-js's own file watcher reads the files only once the server is bound, so the first
 * connections may find no certificate; this one starts with the pair already read.
 */
const fileProvider = (tls: XdsTls, first: Identity): grpc.experimental.CertificateProvider => {
  let latest = first
  let timer: NodeJS.Timeout | undefined
  const listeners = new Set<IdentityListener>()
  const refresh = () => {
    const read = readKeyPair(tls)
    if (Result.isFailure(read)) return
    const next = read.success
    if (next.certificate.equals(latest.certificate) && next.privateKey.equals(latest.privateKey)) return
    latest = next
    for (const listener of listeners) listener(latest)
  }
  return {
    addIdentityCertificateListener: (listener) => {
      listeners.add(listener)
      // Later than now, as grpc-js expects: the server registers its watcher after adding ours.
      process.nextTick(() => listener(latest))
      timer ??= setInterval(refresh, REFRESH_MS).unref()
    },
    removeIdentityCertificateListener: (listener) => {
      listeners.delete(listener)
      if (listeners.size === 0 && timer !== undefined) {
        clearInterval(timer)
        timer = undefined
      }
    },
    // No client certificates: proxies authenticate with their ServiceAccount token.
    addCaCertificateListener: () => {},
    removeCaCertificateListener: () => {}
  }
}

/** Server credentials for `tls`, or plaintext (HTTP/2 without TLS) when it is undefined; fails with the reason. */
export const serverCredentials = (tls: XdsTls | undefined): Effect.Effect<grpc.ServerCredentials, XdsTlsError> =>
  Effect.suspend(() => {
    if (tls === undefined) return Effect.succeed(grpc.ServerCredentials.createInsecure())
    const read = readKeyPair(tls)
    if (Result.isFailure(read)) return Effect.fail(read.failure)
    const pair = read.success
    // grpc-js 1.14 names the first parameter "ca" but uses it as the identity (certificate and key)
    // provider; the second, null, means no client certificates are asked for.
    return Effect.succeed(grpc.experimental.createCertificateProviderServerCredentials(fileProvider(tls, pair), null, false))
  })
