// agentplane/translate as a library consumer sees it: built JavaScript,
// loaded through the package's exports, with no TypeScript at run time.
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"

describe("agentplane/translate", () => {
  it("builds and translates a World when imported through the package exports", () => {
    const build = spawnSync("npm", ["run", "--silent", "build"], { encoding: "utf8" })
    expect(build.status, build.stdout + build.stderr).toBe(0)
    const script = `
      import { decodeObject, translate, worldFromObjects, defaultTranslateOptions } from "agentplane/translate"
      const objects = [
        { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "mcp" }, spec: { controllerName: "kgateway.dev/kgateway" } },
        { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "gw", namespace: "ns" },
          spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] } },
        { apiVersion: "v1", kind: "Service", metadata: { name: "tools", namespace: "ns" }, spec: { ports: [{ port: 80, appProtocol: "kgateway.dev/mcp" }] } }
      ].map((raw) => decodeObject(raw).object)
      const translation = translate(worldFromObjects(objects), defaultTranslateOptions)
      console.log(JSON.stringify(translation.gateways.get("ns/gw").map((r) => r.name)))
    `
    const run = spawnSync(process.execPath, ["--no-experimental-strip-types", "--input-type=module", "-e", script], { encoding: "utf8" })
    expect(run.status, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual(["backend/ns/gw.mcp.mcp", "backend/ns/tools:80", "bind/8080/ns/gw", "listener/ns/gw.mcp", "route/ns/gw.mcp.mcp"])
  })
})
