// An identity provider for JWT scenarios: a JWKS endpoint whose key set (or
// outage) a test switches, and signing keys that mint tokens with jose. It
// listens on every interface, as agentplane may resolve `localhost` to ::1.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose"

export interface SigningKey {
  readonly kid: string
  /** The public half, as the JWKS endpoint publishes it. */
  readonly jwk: JWK
  /** A token signed with this key; `claims` default to a valid token of `issuer` for `audience`, for an hour. */
  readonly token: (claims: { readonly iss: string; readonly aud: string; readonly exp?: number }) => Promise<string>
}

/** An encryption key as identity providers such as Keycloak publish beside their signing keys. */
export const encryptionJwk = async (kid: string): Promise<JWK> => {
  const { publicKey } = await generateKeyPair("RSA-OAEP", { extractable: true })
  return { ...(await exportJWK(publicKey)), kid, alg: "RSA-OAEP", use: "enc" }
}

export const signingKey = async (kid: string): Promise<SigningKey> => {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }
  return {
    kid,
    jwk,
    token: ({ iss, aud, exp }) =>
      new SignJWT({ sub: "e2e-user" })
        .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime(exp ?? Math.floor(Date.now() / 1000) + 3600)
        .sign(privateKey)
  }
}

export interface IdentityProvider {
  readonly port: number
  /** Publish these keys (and `others`, e.g. an encryption key) from now on. */
  readonly serve: (keys: ReadonlyArray<SigningKey>, others?: ReadonlyArray<JWK>) => void
  /** Answer 503 from now on. */
  readonly down: () => void
  /** Requests for the key set so far. */
  readonly fetches: () => number
  readonly close: () => Promise<void>
}

export const startIdentityProvider = async (path: string): Promise<IdentityProvider> => {
  let published: ReadonlyArray<JWK> | undefined
  let fetches = 0
  const server = createServer((request, response) => {
    if (request.url !== path) return void response.writeHead(404).end()
    fetches += 1
    if (published === undefined) return void response.writeHead(503, { "content-type": "text/plain" }).end("identity provider down")
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }))
  })
  await new Promise<void>((resolve) => server.listen({ port: 0, host: "::", ipv6Only: false }, resolve))
  return {
    port: (server.address() as AddressInfo).port,
    serve: (keys, others = []) => {
      published = [...keys.map((key) => key.jwk), ...others]
    },
    down: () => {
      published = undefined
    },
    fetches: () => fetches,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
