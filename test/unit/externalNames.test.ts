// ExternalName Services can point the proxy anywhere; --external-names refuses them or allows
// only some hosts, and a refused target is a ResolvedRefs=False problem naming Service and host.
import { describe, expect, it } from "vitest"
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import { externalNameRefusal, parseExternalNames, type ExternalNamePolicy } from "../../src/translate/externalNames.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import type { GatewayStatus } from "../../src/translate/status.ts"
import { makeTranslator, translate } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/world/world.ts"

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(JSON.stringify(outcome))
  return outcome.object
}

const external = (name: string, host: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "tools" },
  spec: { type: "ExternalName", externalName: host, ports: [{ name: "mcp", port: 80, appProtocol: "kgateway.dev/mcp" }] }
})

const world = worldFromObjects(
  [
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "mcp" }, spec: { controllerName: "kgateway.dev/kgateway" } },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "tools" },
      spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
    },
    external("local", "localhost"),
    external("metadata", "169.254.169.254"),
    external("partner", "mcp.Example.com."),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "inside", namespace: "tools" },
      spec: { ports: [{ name: "mcp", port: 80, appProtocol: "kgateway.dev/mcp" }] }
    }
  ].map(decoded)
)

const policy = (value: string): ExternalNamePolicy => {
  const parsed = parseExternalNames(value)
  if (typeof parsed === "string") throw new Error(parsed)
  return parsed
}

const listener = (translator: typeof translate, externalNames?: ExternalNamePolicy) => {
  const options = externalNames === undefined ? defaultTranslateOptions : { ...defaultTranslateOptions, externalNames }
  const status = translator(world, options).statuses.find((s) => s.kind === "Gateway")!.status as GatewayStatus
  const conditions = status.listeners[0]!.conditions
  return {
    targets: status.listeners[0]!.attachedRoutes,
    accepted: conditions.find((c) => c.type === "Accepted")!,
    resolved: conditions.find((c) => c.type === "ResolvedRefs")!
  }
}

describe("--external-names", () => {
  it("allows every host by default, as the quick start needs", () => {
    const { targets, resolved } = listener(translate)
    expect(targets).toBe(4)
    expect(resolved.status).toBe("True")
  })

  it("deny refuses every ExternalName target, naming each Service and host, and keeps the others", () => {
    const { targets, resolved, accepted } = listener(translate, policy("deny"))
    expect(targets).toBe(1)
    expect(accepted.message).toBe("listener accepted; serving 1 MCP target(s): inside.tools")
    expect(resolved).toMatchObject({ status: "False", reason: "InvalidServices" })
    expect(resolved.message).toContain(
      `Service tools/metadata: spec.externalName "169.254.169.254" is refused: ExternalName targets are not allowed here (--external-names deny)`
    )
    expect(resolved.message).toContain(`Service tools/local: spec.externalName "localhost" is refused`)
  })

  it("a host list allows exact hosts and names below *.domain patterns, case and trailing dot aside", () => {
    const { targets, resolved } = listener(translate, policy("localhost, *.example.com"))
    expect(targets).toBe(3)
    expect(resolved.message).toBe(
      `Service tools/metadata: spec.externalName "169.254.169.254" is refused: it is not among the allowed ExternalName hosts (--external-names localhost,*.example.com); point the Service at an allowed host`
    )
    expect(externalNameRefusal(policy("*.example.com"), "example.com")).toMatch(/is refused/)
    expect(externalNameRefusal(policy("*.example.com"), "a.b.example.com")).toBeUndefined()
    expect(externalNameRefusal(policy("169.254.169.254"), "169.254.169.254")).toBeUndefined()
  })

  it("is honoured by the incremental translator when only the policy changes", () => {
    const translator = makeTranslator()
    expect(listener(translator).targets).toBe(4)
    expect(listener(translator, policy("deny")).targets).toBe(1)
    expect(listener(translator, policy("allow")).targets).toBe(4)
  })

  it("refuses values that are neither allow, deny nor hosts, saying what to give", () => {
    for (const bad of ["", "*foo", "a,,b", "http://x", "*.*.example.com"]) {
      expect(parseExternalNames(bad), bad).toMatch(/is neither a host nor a \*\.domain pattern; give allow, deny, or hosts and patterns separated by commas/)
    }
    expect(parseExternalNames("allow")).toEqual({ _tag: "Allow" })
    expect(parseExternalNames("Localhost.,*.Example.com")).toEqual({ _tag: "Hosts", hosts: ["localhost", "*.example.com"] })
  })
})
