// manifests/crds/ and the chart's CRDs must be what `npm run crds` writes from the Schemas.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { crdFiles, generatedFiles } from "../../manifests/crds/generate.ts"

describe("generated CRDs", () => {
  for (const { path, text } of generatedFiles()) {
    it(`${path} is up to date (run \`npm run crds\` after changing src/api)`, () => {
      expect(readFileSync(path, "utf8")).toBe(text)
    })
  }
  it("are all listed in manifests/crds/kustomization.yaml", () => {
    const kustomization = parse(readFileSync("manifests/crds/kustomization.yaml", "utf8"))
    expect([...kustomization.resources].sort()).toEqual(
      crdFiles()
        .map((f) => f.file)
        .sort()
    )
  })
})
