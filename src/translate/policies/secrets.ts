// Reading the Secrets policies reference. Values are credentials: they go into the Policy sent to
// the proxy and nowhere else (messages name the Secret and the key, never the value).
import type { Secret } from "../../api/core.ts"
import { namespaceOf, type LabelSelector } from "../../api/meta.ts"
import type { World } from "../../world/world.ts"

/** A Secret's values as text: `data` decoded from base64, `stringData` on top (as the API server merges them). */
export const secretValues = (secret: Secret): ReadonlyMap<string, string> => {
  const values = new Map<string, string>()
  for (const [key, value] of Object.entries(secret.data ?? {})) values.set(key, Buffer.from(value, "base64").toString("utf8"))
  for (const [key, value] of Object.entries(secret.stringData ?? {})) values.set(key, value)
  return values
}

export type SecretLookup =
  | { readonly _tag: "Found"; readonly secret: Secret; readonly values: ReadonlyMap<string, string> }
  | { readonly _tag: "Missing"; readonly message: string }
  /** A reference to something other than a core Secret: the policy is refused. */
  | { readonly _tag: "WrongKind"; readonly message: string }

export interface SecretRef {
  readonly group?: string
  readonly kind?: string
  readonly name: string
}

export const lookupSecret = (world: World, namespace: string, field: string, ref: SecretRef): SecretLookup => {
  if ((ref.group ?? "") !== "" || (ref.kind ?? "Secret") !== "Secret") {
    return {
      _tag: "WrongKind",
      message: `${field}: ${(ref.group ?? "") === "" ? "" : `${ref.group}/`}${ref.kind ?? "Secret"} is not a credential source agentplane reads; reference a core Secret (leave group and kind out)`
    }
  }
  const secret = world.secrets.get(`${namespace}/${ref.name}`)
  return secret === undefined
    ? { _tag: "Missing", message: `${field}: Secret ${namespace}/${ref.name} not found; create it in the policy's namespace` }
    : { _tag: "Found", secret, values: secretValues(secret) }
}

const matches = (labels: Readonly<Record<string, string>> | undefined, selector: Pick<LabelSelector, "matchLabels">): boolean =>
  Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels?.[key] === value)

/** The Secrets of `namespace` whose labels carry every `matchLabels` entry, by name. */
export const selectSecrets = (world: World, namespace: string, selector: Pick<LabelSelector, "matchLabels">): ReadonlyArray<Secret> =>
  [...world.secrets.values()]
    .filter((secret) => namespaceOf(secret.metadata) === namespace && matches(secret.metadata.labels, selector))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))
