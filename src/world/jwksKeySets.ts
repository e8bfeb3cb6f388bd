// Remote JWKS as World input. The proxy accepts only inline keys, so agentplane
// fetches the key sets policies name and hands them to the translator as data:
// translation stays pure, and the fetcher knows nothing of policies.

/** One key set to fetch, identified by everything that changes what is fetched. */
export interface JwksRequest {
  /** Stable identity of the fetch (URL and connection settings); owners with the same key share it. */
  readonly key: string
  /** `http://host:port/path` (or `https://`), already resolved from the policy's backendRef. */
  readonly url: string
  /** Refresh interval: the smallest `cacheDuration` among the owners, in milliseconds. */
  readonly refreshMs: number
}

/** What is known of one key set: the last good keys (kept while later fetches fail) and the last failure. */
export interface JwksKeySet {
  /** The JWKS document (`{"keys":[…]}`) as canonical JSON; absent until a fetch succeeded. */
  readonly jwks?: string
  /** RFC 3339 time of the fetch that produced `jwks`. */
  readonly fetchedAt?: string
  /** Why the latest fetch failed; absent after a success. Never contains key material. */
  readonly error?: string
}

/** By `JwksRequest.key`. */
export type JwksKeySets = ReadonlyMap<string, JwksKeySet>

export const noJwksKeySets: JwksKeySets = new Map()
