// What a JWKS must be for agentgateway to use it, and its canonical bytes.
// The proxy NACKs (1.2) or silently drops the provider (1.4) on a key set it
// cannot load (a key without kid, of type oct, OKP other than Ed25519, with
// members missing or not base64url), so a document it would refuse is a
// fetch failure here, with the reason, and the last good keys stay in use.
// EC keys are limited to the curves it verifies (P-256, P-384).
import { Schema } from "effect"

export type JwksDocument = { readonly _tag: "Valid"; readonly jwks: string; readonly keys: number } | { readonly _tag: "Invalid"; readonly message: string }

/** `{"keys":[…]}` with object members; each key is checked on its own, for precise messages. */
const JwksShape = Schema.Struct({ keys: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)) })
const decodeShape = Schema.decodeUnknownOption(JwksShape)

const CURVES: Readonly<Record<string, ReadonlyArray<string>>> = { EC: ["P-256", "P-384"], OKP: ["Ed25519"] }
const PUBLIC_MEMBERS: Readonly<Record<string, ReadonlyArray<string>>> = { RSA: ["n", "e"], EC: ["crv", "x", "y"], OKP: ["crv", "x"] }
/** Common members the proxy reads; everything else (private parts, x5c, key_ops…) is left out of what is sent. */
const COMMON_MEMBERS = ["kty", "kid", "alg", "use"]
const BASE64URL = /^[A-Za-z0-9_-]+$/

const SUPPORTED = "supported: RSA, EC P-256/P-384, OKP Ed25519"

const keyProblem = (key: Readonly<Record<string, unknown>>): string | undefined => {
  const { kid, kty, alg, use } = key
  if (typeof kid !== "string" || kid === "") return `has no "kid" (the proxy finds keys by kid, so every key needs one)`
  if (typeof kty !== "string") return `has no "kty" (${SUPPORTED})`
  const members = PUBLIC_MEMBERS[kty]
  if (members === undefined) return `has key type "${kty}", which the proxy does not load (${SUPPORTED})`
  const curve = CURVES[kty] === undefined ? undefined : key.crv
  if (CURVES[kty] !== undefined && (typeof curve !== "string" || !CURVES[kty].includes(curve))) {
    return `is an ${kty} key on curve ${typeof curve === "string" ? `"${curve}"` : "(none)"}, which the proxy does not load (${kty}: ${CURVES[kty].join(", ")})`
  }
  for (const member of members) {
    if (member === "crv") continue
    const value = key[member]
    if (typeof value !== "string" || !BASE64URL.test(value)) return `has no valid "${member}" (an ${kty} public key needs it, base64url-encoded)`
  }
  // Any alg and use load: the proxy verifies with a signature algorithm it knows, and infers the
  // key type's algorithms from any other (an `enc` key with alg RSA-OAEP, as Keycloak publishes).
  if (alg !== undefined && typeof alg !== "string") return `has an "alg" that is not a string`
  if (use !== undefined && typeof use !== "string") return `has a "use" that is not a string`
  return undefined
}

/** A key reduced to the public members the proxy reads, members in sorted order. */
const canonicalKey = (key: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const kept = [...COMMON_MEMBERS, ...PUBLIC_MEMBERS[key.kty as string]!].filter((member) => key[member] !== undefined).sort()
  return Object.fromEntries(kept.map((member) => [member, key[member]]))
}

/** Checks a parsed JWKS and gives its canonical JSON: stable bytes, so stable xDS versions. */
export const jwksFromValue = (value: unknown): JwksDocument => {
  const shape = decodeShape(value)
  if (shape._tag === "None") return { _tag: "Invalid", message: `the body is not a JWKS: expected {"keys": [ {…}, … ]}` }
  const keys = shape.value.keys
  if (keys.length === 0) return { _tag: "Invalid", message: "the key set has no keys" }
  for (const [index, key] of keys.entries()) {
    const problem = keyProblem(key)
    if (problem !== undefined) {
      const name = typeof key.kid === "string" && key.kid !== "" ? ` (kid ${JSON.stringify(key.kid)})` : ""
      return { _tag: "Invalid", message: `key ${index + 1}${name} ${problem}` }
    }
  }
  return { _tag: "Valid", jwks: JSON.stringify({ keys: keys.map(canonicalKey) }), keys: keys.length }
}

/** Checks a JWKS body as the identity provider sent it. */
export const jwksFromText = (text: string): JwksDocument => {
  // The parser's message quotes the body, so it is not repeated: errors never carry key material.
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { _tag: "Invalid", message: "the body is not JSON" }
  }
  return jwksFromValue(value)
}
