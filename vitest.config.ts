import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "node_modules/**"],
    globalSetup: ["test/e2e/harness/announceReleases.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"]
  }
})
