// The README's "Securing a gateway" example reads without a problem, every policy Valid, and its
// gateway gets the API key, rate limit and tool authorization policies (the example was run by
// hand through agentgateway; test/e2e/policies.e2e.test.ts proves each mechanism).
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { directoryInput, emptyContents, readManifests } from "../../../src/files/readManifests.ts"
import { renderContents } from "../../../src/render.ts"
import { defaultTranslateOptions } from "../../../src/translate/options.ts"

describe("manifests/secured", () => {
  it("renders the secured gateway with its policies accepted and no credential shown", async () => {
    const rendered = renderContents(await Effect.runPromise(readManifests([directoryInput("manifests/secured")], emptyContents)), defaultTranslateOptions)
    const dump = rendered.dump()
    expect(dump.problems).toEqual([])
    const policies = dump.gateways.find((g) => g.gateway === "secured/secured")!.resources.filter((r) => r.name.startsWith("policy/"))
    expect(policies.map((r) => r.name)).toEqual([
      "policy/secured/api-keys:mcp-authorization:secured/secured",
      "policy/traffic/secured/api-keys:apikeyauth:secured/secured",
      "policy/traffic/secured/api-keys:rl-local:secured/secured"
    ])
    const status = dump.statuses.find((s) => s.kind === "AgentgatewayPolicy")!
    expect(JSON.stringify(status.status)).toContain('"reason":"Valid"')
    expect(JSON.stringify(dump)).not.toContain("example-reader-key")
  })
})
