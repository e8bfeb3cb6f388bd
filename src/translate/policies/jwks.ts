// What the proxy accepts as a JWKS: a `{"keys":[…]}` document whose every key has a kid and is an
// RSA, EC (P-256, P-384) or OKP (Ed25519) key. agentgateway 1.2 refuses a policy with any other
// key; 1.4 drops the provider. So inline key sets are checked (a bad one refuses the policy), and
// fetched ones, which agentplane does not control, lose just the keys the proxy cannot load.

const SUPPORTED_KEYS: Readonly<Record<string, ReadonlyArray<string> | undefined>> = { RSA: undefined, EC: ["P-256", "P-384"], OKP: ["Ed25519"] }

const keysOf = (jwks: string): ReadonlyArray<unknown> | string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(jwks)
  } catch {
    return `is not JSON; give a JWKS document such as {"keys":[…]}`
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys
  return Array.isArray(keys) ? keys : `is not a JWKS document; give {"keys":[…]}`
}

/** Why one key would not load, or undefined; names the key by index and kid, never its material. */
const keyProblem = (key: unknown, index: number): string | undefined => {
  const jwk = (typeof key === "object" && key !== null ? key : {}) as { kid?: unknown; kty?: unknown; crv?: unknown }
  if (typeof jwk.kid !== "string") return `keys[${index}] has no kid; every key needs a kid (tokens name their key by it)`
  const kty = typeof jwk.kty === "string" ? jwk.kty : ""
  if (!Object.hasOwn(SUPPORTED_KEYS, kty)) {
    return `keys[${index}] (kid ${jwk.kid}) has key type ${JSON.stringify(kty)}; the proxy loads RSA, EC (P-256, P-384) and OKP (Ed25519) keys`
  }
  const curves = SUPPORTED_KEYS[kty]
  return curves === undefined || curves.includes(String(jwk.crv))
    ? undefined
    : `keys[${index}] (kid ${jwk.kid}, kty ${kty}) is on curve ${JSON.stringify(jwk.crv)}; the proxy loads ${kty} keys on ${curves.join(", ")}`
}

/** Why an inline key set would not load, or undefined. */
export const jwksProblem = (jwks: string): string | undefined => {
  const keys = keysOf(jwks)
  if (typeof keys === "string") return keys
  for (const [index, key] of keys.entries()) {
    const problem = keyProblem(key, index)
    if (problem !== undefined) return problem
  }
  return undefined
}

/**
 * A fetched key set as the proxy can load it: unchanged when every key loads, else with only the
 * keys that do (`dropped` says which were left out); `problem` when nothing usable is left.
 */
export const usableJwks = (jwks: string): { readonly jwks: string; readonly dropped: ReadonlyArray<string> } | { readonly problem: string } => {
  const keys = keysOf(jwks)
  if (typeof keys === "string") return { problem: keys }
  const dropped: Array<string> = []
  const usable = keys.filter((key, index) => {
    const problem = keyProblem(key, index)
    if (problem !== undefined) dropped.push(problem)
    return problem === undefined
  })
  if (usable.length === 0) return { problem: keys.length === 0 ? "has no keys" : `has no key the proxy can load (${dropped.join("; ")})` }
  return { jwks: dropped.length === 0 ? jwks : JSON.stringify({ keys: usable }), dropped }
}
