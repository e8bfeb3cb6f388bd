// Which hosts an ExternalName Service may point the proxy at. Whoever can create a Service in an
// admitted namespace chooses where the proxy connects (a cloud metadata address, an internal
// host), so an operator can refuse ExternalName targets or allow only some hosts. The default
// allows all: the quick start reaches servers on localhost that way.

export type ExternalNamePolicy =
  | { readonly _tag: "Allow" }
  | { readonly _tag: "Deny" }
  /** Exact hosts (DNS names or IP addresses) and `*.domain` patterns (any name below domain). */
  | { readonly _tag: "Hosts"; readonly hosts: ReadonlyArray<string> }

export const allowExternalNames: ExternalNamePolicy = { _tag: "Allow" }

/** How the policy is written on the command line. */
export const describePolicy = (policy: ExternalNamePolicy): string =>
  policy._tag === "Allow" ? "allow" : policy._tag === "Deny" ? "deny" : policy.hosts.join(",")

const normalise = (host: string) => host.toLowerCase().replace(/\.$/, "")

const PATTERN = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$|^[0-9a-f:.]+$/

/** `allow`, `deny`, or comma-separated hosts and `*.domain` patterns; a string says what is wrong. */
export const parseExternalNames = (value: string): ExternalNamePolicy | string => {
  if (value === "allow") return allowExternalNames
  if (value === "deny") return { _tag: "Deny" }
  const hosts = value.split(",").map((host) => normalise(host.trim()))
  const bad = hosts.find((host) => !PATTERN.test(host))
  if (bad !== undefined) {
    return `${JSON.stringify(bad)} is neither a host nor a *.domain pattern; give allow, deny, or hosts and patterns separated by commas, e.g. localhost,*.example.com`
  }
  return { _tag: "Hosts", hosts }
}

/** Why `host` may not be an ExternalName target under `policy`, or undefined when it may. */
export const externalNameRefusal = (policy: ExternalNamePolicy, host: string): string | undefined => {
  if (policy._tag === "Allow") return undefined
  if (policy._tag === "Deny") {
    return `"${host}" is refused: ExternalName targets are not allowed here (--external-names deny); use a Service with pods or endpoints in the cluster`
  }
  const name = normalise(host)
  const allowed = policy.hosts.some((pattern) => (pattern.startsWith("*.") ? name.endsWith(pattern.slice(1)) : name === pattern))
  return allowed
    ? undefined
    : `"${host}" is refused: it is not among the allowed ExternalName hosts (--external-names ${describePolicy(policy)}); point the Service at an allowed host`
}
