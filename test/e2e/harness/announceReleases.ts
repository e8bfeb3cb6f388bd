// Vitest global setup: says once per run which agentgateway releases the e2e
// proxy halves run against, or that none was found and they are skipped.
import { PROXY_RELEASES, releasesSource } from "./proxyReleases.ts"

export default function announceReleases(): void {
  if (PROXY_RELEASES.length === 0) {
    console.log(
      `[e2e] no agentgateway binary found (${releasesSource()}): proxy halves skipped; set AGENTGATEWAY_BIN=/path/to/agentgateway[:another] to run them`
    )
    return
  }
  const list = PROXY_RELEASES.map((release) => `${release.version} (${release.binary})`).join(", ")
  console.log(`[e2e] proxy halves run against agentgateway ${list}`)
}
