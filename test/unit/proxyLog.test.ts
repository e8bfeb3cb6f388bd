// The strict-interop reading of agentgateway's log: which lines fail a proxy half.
import { describe, expect, it } from "vitest"
import { complaintsIn, nacksOf } from "../e2e/harness/proxy.ts"

const line = (level: string, target: string, message: string, fields = "") => `2026-12-02T01:08:26.404493Z\t${level}\t${target}\t${message}\t${fields}`

describe("agentgateway log complaints", () => {
  it("counts every warning and error about configuration, whatever its target", () => {
    const log = [
      line("info", "agent_xds::client:xds{id=1}", "Stream established"),
      line("warn", "agent_xds::client:xds{id=1}", "XDS client connection error"),
      line("error", "state_manager", "failed to apply resource"),
      line("warn", "mcp::mergestream", "some other merge problem")
    ].join("\n")
    expect(complaintsIn(log)).toHaveLength(3)
  })

  it("leaves out the named traffic warnings, and continuation lines of multi-line records", () => {
    const log = [
      line("warn", "mcp::mergestream", "upstream stream ended unexpectedly, skipping (failure_mode=FailOpen)"),
      line("warn", "proxy::gateway", "proxy error: connection error", "src.addr=127.0.0.1:53936"),
      "  warn: this is part of the configuration printed at start",
      line("info", "proxy::gateway", "started bind", `bind="8080/default/mcp-gateway"`)
    ].join("\n")
    expect(complaintsIn(log)).toEqual([])
  })
})

describe("NACKs counted for a Gateway", () => {
  const metrics = [
    "# TYPE agentplane_xds_nacks_total counter",
    `agentplane_xds_nacks_total{gateway="e2e/tools",type_url="type.googleapis.com/agentgateway.dev.resource.Resource"} 2`,
    `agentplane_xds_nacks_total{gateway="e2e/tools",type_url="type.googleapis.com/istio.workload.Address"} 1`,
    `agentplane_xds_nacks_total{gateway="e2e/other",type_url="type.googleapis.com/agentgateway.dev.resource.Resource"} 5`
  ].join("\n")

  it("sums both type URLs of that Gateway only", () => {
    expect(nacksOf(metrics, "e2e/tools")).toBe(3)
    expect(nacksOf(metrics, "e2e/none")).toBe(0)
  })
})
