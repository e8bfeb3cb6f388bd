// The control-plane side of a scenario: TestProxy (test/support/xdsClient.ts)
// connected to the agentplane process, speaking like agentgateway, with what
// it received in the canonical JSON form `render` and config_dump print —
// the same shape a user reads, so expectations look like the README.
import { afterAll } from "vitest"
import { Resource } from "../../../src/gen/agentgateway/resource.ts"
import { TestProxy, type ProxyOptions } from "../../support/xdsClient.ts"
import type { Agentplane } from "./agentplane.ts"

/** Call once per scenario file: TestProxies it connects are closed after the file. */
export const useTestProxies = (agentplane: () => Agentplane) => {
  const proxies: Array<TestProxy> = []
  afterAll(() => {
    for (const proxy of proxies) proxy.close()
  })
  return (options: Omit<ProxyOptions, "address">): TestProxy => {
    const proxy = new TestProxy({ address: agentplane().xdsAddress, ...options })
    proxies.push(proxy)
    return proxy
  }
}

export const heldNames = (proxy: TestProxy): Array<string> => [...proxy.resourceHoldings().keys()].sort()

/** A held resource as canonical JSON, e.g. `{ backend: { key, static: { host, port } } }`. */
export const heldJson = (proxy: TestProxy, name: string): any => {
  const resource = proxy.decoded.get(name)
  if (resource === undefined) throw new Error(`the proxy holds no ${name}; it holds ${heldNames(proxy).join(", ")}`)
  return Resource.toJSON(resource)
}
