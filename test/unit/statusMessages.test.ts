// Condition messages stay under the Kubernetes limit, however many objects they are about:
// lists are summarised with counts and a few names, and anything longer is cut with a marker.
import { describe, expect, it } from "vitest"
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import { capMessage, describeServiceProblems, MAX_CONDITION_MESSAGE } from "../../src/translate/conditionMessages.ts"
import { condition } from "../../src/translate/conditions.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import type { GatewayStatus } from "../../src/translate/status.ts"
import { translate } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/world/world.ts"

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

const gatewayObjects = [
  { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "mcp" }, spec: { controllerName: "kgateway.dev/kgateway" } },
  {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gw", namespace: "tools" },
    spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
  }
]

const mcpService = (name: string, annotations: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "tools", annotations },
  spec: { ports: [{ name: "mcp", port: 80, appProtocol: "kgateway.dev/mcp" }] }
})

const names = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`)

const listenerCondition = (services: ReadonlyArray<unknown>, type: string) => {
  const translation = translate(worldFromObjects([...gatewayObjects, ...services].map(decoded)), defaultTranslateOptions)
  const gateway = translation.statuses.find((s) => s.kind === "Gateway")!.status as GatewayStatus
  return gateway.listeners[0]!.conditions.find((c) => c.type === type)!
}

describe("condition messages", () => {
  it("summarise 1,000 Services with the same bad mcp-path: a count, the first names, and how many more", () => {
    const services = names(1000, "weather-service-with-a-long-name").map((name) => mcpService(name, { "kgateway.dev/mcp-path": "no slash" }))
    const resolved = listenerCondition(services, "ResolvedRefs")
    expect(resolved).toMatchObject({ status: "False", reason: "InvalidServices" })
    expect(resolved.message.length).toBeLessThan(1000)
    expect(resolved.message).toBe(
      `1000 Services have metadata.annotations["kgateway.dev/mcp-path"] "no slash" is not a URL path; use an absolute path such as "/mcp": ` +
        "tools/weather-service-with-a-long-name-0000, tools/weather-service-with-a-long-name-0001, tools/weather-service-with-a-long-name-0002, " +
        "tools/weather-service-with-a-long-name-0003, tools/weather-service-with-a-long-name-0004 and 995 more"
    )
  })

  it("spell out a single Service's problem as before", () => {
    const resolved = listenerCondition([mcpService("one", { "kgateway.dev/mcp-path": "x" })], "ResolvedRefs")
    expect(resolved.message).toBe(`Service tools/one: metadata.annotations["kgateway.dev/mcp-path"] "x" is not a URL path; use an absolute path such as "/mcp"`)
  })

  it("count the distinct problems past the first ten, and stay under the limit when every Service's problem differs", () => {
    const services = names(1000, "svc").map((name, i) => mcpService(name, { "kgateway.dev/mcp-path": `bad path ${i} ${"x".repeat(200)}` }))
    const resolved = listenerCondition(services, "ResolvedRefs")
    expect(resolved.message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE)
    expect(resolved.message).toMatch(/; and 990 other problem\(s\) of 990 Service\(s\)$/)
    expect(resolved.message.startsWith("Service tools/svc-0000: ")).toBe(true)
  })

  it("list served targets with a count past twenty", () => {
    const accepted = listenerCondition(
      names(1000, "ok").map((name) => mcpService(name)),
      "Accepted"
    )
    expect(accepted.message).toMatch(/^listener accepted; serving 1000 MCP target\(s\): ok-0000\.tools, .* and 980 more$/)
    expect(accepted.message.length).toBeLessThan(2000)
  })

  it("are cut with a marker when nothing else kept them short", () => {
    const long = condition("Programmed", true, "Programmed", `the proxy refused ${"r".repeat(100_000)}`, 3)
    expect(long.message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE)
    expect(long.message).toMatch(/^the proxy refused r+ … \(message truncated\)$/)
    expect(condition("Accepted", true, "Accepted", "short", 1).message).toBe("short")
    // A surrogate pair is never split: the cut lands before it.
    const emoji = capMessage(`${"a".repeat(99)}😀${"b".repeat(100)}`, 100 + " … (message truncated)".length)
    expect(emoji).toBe(`${"a".repeat(99)} … (message truncated)`)
  })

  it("group Services by problem deterministically, whatever the order of input", () => {
    const problems = [
      { namespace: "b", service: "s2", field: "spec.externalName", message: "is empty" },
      { namespace: "a", service: "s1", field: "spec.externalName", message: "is empty" },
      { namespace: "a", service: "s3", field: "spec.ports[0].targetPort", message: "is named" }
    ]
    const message = describeServiceProblems(problems)
    expect(message).toBe("2 Services have spec.externalName is empty: a/s1, b/s2; Service a/s3: spec.ports[0].targetPort is named")
    expect(describeServiceProblems([...problems].reverse())).toBe(message)
  })
})
