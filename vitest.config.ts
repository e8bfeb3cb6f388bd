import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "node_modules/**"],
    globalSetup: ["test/e2e/harness/announceReleases.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
    // Known teardown race: when a test disposes agentplane in Kubernetes mode while a request to the
    // API server is in flight, undici destroys the connection pool after closing it and a stream
    // it errors has no listener left. It happens only at disposal, after every assertion; any other
    // unhandled error still fails the run.
    onUnhandledError: (error) => (error as { code?: string }).code !== "UND_ERR_DESTROYED"
  }
})
