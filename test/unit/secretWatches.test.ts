// Which Secret watches the policies of a World need: one per Secret named, one per namespace and
// label selector, none for references no Secret could satisfy, and none at all without policies.
import { describe, expect, it } from "vitest"
import type { AgentgatewayPolicy } from "../../src/api/agentgatewayPolicy.ts"
import { decodeObject } from "../../src/api/objects.ts"
import { labelSelectorOf, policySecretReferences, secretWatchesFor, secretWatchesOf } from "../../src/kube/secretWatches.ts"
import { secretWatched } from "../../src/kube/watchSource.ts"
import { emptyWorld, worldFromObjects } from "../../src/world/world.ts"
import { FIELD_POLICIES, policy } from "../support/policies.ts"

const decoded = (raw: unknown): AgentgatewayPolicy => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded" || outcome.object.kind !== "AgentgatewayPolicy") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

const target = [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }]

describe("Secret watches", () => {
  it("are none without policies, and none for policies that reference no Secret", () => {
    expect(secretWatchesOf(emptyWorld)).toEqual([])
    expect(secretWatchesOf(worldFromObjects([decoded(policy("cors", { targetRefs: target, traffic: { cors: {} } }))]))).toEqual([])
  })

  it("cover every Secret reference of the supported fields, in the policy's namespace", () => {
    const world = worldFromObjects(FIELD_POLICIES.map(decoded))
    expect(secretWatchesOf(world)).toEqual([
      { id: "labels:default/agentplane.dev/api-key=true", namespace: "default", labelSelector: "agentplane.dev/api-key=true" },
      { id: "name:default/api-keys", namespace: "default", fieldSelector: "metadata.name=api-keys" },
      { id: "name:default/htpasswd", namespace: "default", fieldSelector: "metadata.name=htpasswd" },
      { id: "name:default/upstream-token", namespace: "default", fieldSelector: "metadata.name=upstream-token" }
    ])
  })

  it("are shared by policies that reference the same Secret, and kept apart per namespace", () => {
    const keys = (name: string, namespace: string) =>
      decoded(policy(name, { targetRefs: target, traffic: { apiKeyAuthentication: { secretRef: { name: "keys" } } } }, namespace))
    const watches = secretWatchesOf(worldFromObjects([keys("a", "team-a"), keys("b", "team-a"), keys("c", "team-b")]))
    expect(watches.map((w) => w.id)).toEqual(["name:team-a/keys", "name:team-b/keys"])
    expect(secretWatched(watches[0]!)).toEqual({
      kind: "Secret",
      apiVersion: "v1",
      path: "/api/v1/namespaces/team-a/secrets",
      fieldSelector: "metadata.name=keys"
    })
  })

  it("read nothing for a reference to another kind, a malformed name or a label no object can carry", () => {
    const refs = policySecretReferences(
      decoded(policy("cm", { targetRefs: target, backend: { auth: { secretRef: { name: "creds", group: "", kind: "ConfigMap" } } } }))
    )
    expect(refs).toEqual([])
    expect(
      secretWatchesFor([
        { _tag: "Name", namespace: "default", name: "Not_A_Name" },
        { _tag: "Selector", namespace: "default", matchLabels: { "a,b": "c" } },
        { _tag: "Selector", namespace: "default", matchLabels: { a: "x,y=z" } }
      ])
    ).toEqual([])
  })

  it("write label selectors in key order, so the same labels are the same watch", () => {
    expect(labelSelectorOf({ b: "2", a: "1" })).toBe("a=1,b=2")
    expect(labelSelectorOf({})).toBe("")
  })
})
