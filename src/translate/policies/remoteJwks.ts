// Remote JWKS: which key sets policies need fetched, and how a provider finds its fetched keys.
// The proxy accepts only inline keys, so agentplane fetches them (elsewhere) and hands them back
// as World input; this file only names the fetches, purely.
import { createHash } from "node:crypto"
import type { AgentgatewayPolicy, RemoteJwks } from "../../api/agentgatewayPolicy.ts"
import { namespaceOf } from "../../api/meta.ts"
import type { JwksRequest } from "../../world/jwksKeySets.ts"
import type { World } from "../../world/world.ts"
import { externalNameRefusal } from "../externalNames.ts"
import type { TranslateOptions } from "../options.ts"
import { durationMs } from "./duration.ts"

export const DEFAULT_CACHE_DURATION_MS = 5 * 60_000

export type RemoteJwksResolution =
  | { readonly _tag: "Url"; readonly url: string; readonly key: string; readonly refreshMs: number }
  /** Cannot be fetched as written: the policy is refused. */
  | { readonly _tag: "Invalid"; readonly message: string }
  /** Cannot be fetched yet (its Service is missing): the provider is left out for now. */
  | { readonly _tag: "Unresolved"; readonly message: string }

/** Identity of a fetch: the hex SHA-256 of its URL (plain HTTP, no other connection settings). */
export const jwksRequestKey = (url: string): string => createHash("sha256").update(url).digest("hex")

export const resolveRemoteJwks = (
  world: World,
  options: TranslateOptions,
  policyNamespace: string,
  field: string,
  remote: RemoteJwks
): RemoteJwksResolution => {
  const ref = remote.backendRef
  if ((ref.group ?? "") !== "" || (ref.kind ?? "Service") !== "Service") {
    return {
      _tag: "Invalid",
      message: `${field}.backendRef: ${(ref.group ?? "") === "" ? "" : `${ref.group}/`}${ref.kind ?? "Service"} is not supported for fetching JWKS; reference a Service (with port)`
    }
  }
  if (ref.port === undefined) return { _tag: "Invalid", message: `${field}.backendRef: a Service reference needs a port; add port` }
  const namespace = ref.namespace ?? policyNamespace
  const service = world.services.get(`${namespace}/${ref.name}`)
  if (service === undefined)
    return { _tag: "Unresolved", message: `${field}.backendRef: Service ${namespace}/${ref.name} not found, so its JWKS cannot be fetched` }
  let host = `${ref.name}.${namespace}.svc.${options.clusterDomain}`
  if (service.spec.type === "ExternalName") {
    const externalName = service.spec.externalName ?? ""
    const refusal =
      externalName === ""
        ? "it has no spec.externalName"
        : options.externalNames === undefined
          ? undefined
          : externalNameRefusal(options.externalNames, externalName)
    if (refusal !== undefined) return { _tag: "Invalid", message: `${field}.backendRef: Service ${namespace}/${ref.name}: ${refusal}` }
    host = externalName
  }
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${ref.port}/${remote.jwksPath.replace(/^\/+/, "")}`
  const refreshMs = remote.cacheDuration === undefined ? DEFAULT_CACHE_DURATION_MS : (durationMs(remote.cacheDuration) ?? DEFAULT_CACHE_DURATION_MS)
  return { _tag: "Url", url, key: jwksRequestKey(url), refreshMs }
}

/** Every remote provider of every policy that has targets, with its field path. */
export const remoteProvidersOf = (policy: AgentgatewayPolicy): ReadonlyArray<{ readonly field: string; readonly remote: RemoteJwks }> =>
  (policy.spec.targetRefs ?? []).length === 0
    ? []
    : (policy.spec.traffic?.jwtAuthentication?.providers ?? []).flatMap((provider, index) =>
        provider.jwks.remote === undefined ? [] : [{ field: `spec.traffic.jwtAuthentication.providers[${index}].jwks.remote`, remote: provider.jwks.remote }]
      )

/**
 * The key sets to fetch: one request per distinct URL, refreshed as often as its most eager owner
 * asks (the smallest cacheDuration). Sorted by key, so equal Worlds give equal lists.
 */
export const remoteJwksRequests = (world: World, options: TranslateOptions): ReadonlyArray<JwksRequest> => {
  const byKey = new Map<string, JwksRequest>()
  for (const policy of world.agentgatewayPolicies.values()) {
    for (const { field, remote } of remoteProvidersOf(policy)) {
      const resolved = resolveRemoteJwks(world, options, namespaceOf(policy.metadata), field, remote)
      if (resolved._tag !== "Url") continue
      const known = byKey.get(resolved.key)
      if (known === undefined || resolved.refreshMs < known.refreshMs)
        byKey.set(resolved.key, { key: resolved.key, url: resolved.url, refreshMs: resolved.refreshMs })
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}
