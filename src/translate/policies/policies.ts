// Every AgentgatewayPolicy of the World → the Policy resources of each Gateway and the policies'
// statuses. Remembers each policy's result with everything it was computed from (the policy, the
// Gateways it targets, the Secrets, Services and key sets it reads, by identity), so an unchanged
// policy yields the very same resources and the Gateways it reaches keep their memo.
import { namespaceOf } from "../../api/meta.ts"
import type { AgentgatewayPolicy } from "../../api/agentgatewayPolicy.ts"
import type { World } from "../../world/world.ts"
import type { TranslateOptions } from "../options.ts"
import type { NamedResource } from "../resources.ts"
import type { ObjectStatus } from "../status.ts"
import { translatePolicy, type PolicyTranslation } from "./policy.ts"
import { policyStatus } from "./policyStatus.ts"
import { remoteProvidersOf, resolveRemoteJwks } from "./remoteJwks.ts"
import { selectSecrets } from "./secrets.ts"
import { targetGatewaysOf } from "./targets.ts"

export interface PoliciesTranslation {
  /** Policy resources by Gateway key, sorted by xDS name; Gateways no policy reaches are absent. */
  readonly byGateway: ReadonlyMap<string, ReadonlyArray<NamedResource>>
  readonly statuses: ReadonlyArray<ObjectStatus>
  /** Namespaces of the Services remote JWKS are fetched through: a change there can change a policy. */
  readonly jwksNamespaces: ReadonlySet<string>
}

export const NO_POLICY_RESOURCES: ReadonlyArray<NamedResource> = []

/** Everything a policy's translation reads besides the policy and the options, by identity. */
const inputsOf = (world: World, options: TranslateOptions, policy: AgentgatewayPolicy): Array<unknown> => {
  const namespace = namespaceOf(policy.metadata)
  const inputs: Array<unknown> = [...targetGatewaysOf(world, policy)]
  const traffic = policy.spec.traffic
  for (const ref of [traffic?.apiKeyAuthentication?.secretRef, traffic?.basicAuthentication?.secretRef, policy.spec.backend?.auth?.secretRef]) {
    if (ref !== undefined) inputs.push(world.secrets.get(`${namespace}/${ref.name}`))
  }
  const selector = traffic?.apiKeyAuthentication?.secretSelector
  if (selector !== undefined) inputs.push(...selectSecrets(world, namespace, selector), "end of selected Secrets")
  for (const { field, remote } of remoteProvidersOf(policy)) {
    inputs.push(world.services.get(`${remote.backendRef.namespace ?? namespace}/${remote.backendRef.name}`))
    const resolved = resolveRemoteJwks(world, options, namespace, field, remote)
    if (resolved._tag === "Url") inputs.push(world.jwksKeySets.get(resolved.key))
  }
  return inputs
}

const sameInputs = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) => a.length === b.length && a.every((x, i) => x === b[i])

const byName = (a: NamedResource, b: NamedResource) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

export const makePolicyTranslator = () => {
  const memo = new Map<
    string,
    { readonly inputs: ReadonlyArray<unknown>; readonly translation: PolicyTranslation; readonly status: ObjectStatus | undefined }
  >()
  return (world: World, options: TranslateOptions): PoliciesTranslation => {
    const byGateway = new Map<string, Array<NamedResource>>()
    const statuses: Array<ObjectStatus> = []
    const jwksNamespaces = new Set<string>()
    for (const key of [...world.agentgatewayPolicies.keys()].sort()) {
      const policy = world.agentgatewayPolicies.get(key)!
      const namespace = namespaceOf(policy.metadata)
      for (const { remote } of remoteProvidersOf(policy)) jwksNamespaces.add(remote.backendRef.namespace ?? namespace)
      const inputs = [policy, options, ...inputsOf(world, options, policy)]
      let entry = memo.get(key)
      if (entry === undefined || !sameInputs(entry.inputs, inputs)) {
        const translation = translatePolicy(world, options, policy)
        const status = policyStatus(policy, translation, options.controllerName)
        entry = {
          inputs,
          translation,
          status: status === undefined ? undefined : { kind: "AgentgatewayPolicy", namespace, name: policy.metadata.name, status }
        }
        memo.set(key, entry)
      }
      if (entry.status !== undefined) statuses.push(entry.status)
      for (const [gateway, resources] of entry.translation.resources) {
        const list = byGateway.get(gateway)
        if (list === undefined) byGateway.set(gateway, [...resources])
        else list.push(...resources)
      }
    }
    for (const key of memo.keys()) if (!world.agentgatewayPolicies.has(key)) memo.delete(key)
    for (const list of byGateway.values()) list.sort(byName)
    return { byGateway, statuses, jwksNamespaces }
  }
}
