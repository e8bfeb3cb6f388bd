// manifests/crds/ must be what `npm run crds` writes from the Schemas.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { CRD_DIRS, crdFiles } from "../../manifests/crds/generate.ts"

describe("generated CRDs", () => {
  for (const dir of CRD_DIRS) {
    for (const { file, text } of crdFiles()) {
      it(`${dir}/${file} is up to date (run \`npm run crds\` after changing src/api)`, () => {
        expect(readFileSync(`${dir}/${file}`, "utf8")).toBe(text)
      })
    }
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
