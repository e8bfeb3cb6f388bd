// Golden files: the full render output (resources, versions, statuses,
// problems) of each input directory. Refresh with `npm run test:golden:refresh`
// and review the diff by eye before committing.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { directoryInput, emptyContents, readManifests } from "../../src/files/readManifests.ts"
import { renderContents } from "../../src/render.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"

const refresh = process.env["UPDATE_GOLDEN"] === "1"
const casesDir = "test/golden/cases"

const cases: ReadonlyArray<{ name: string; input: string; expected: string }> = [
  { name: "examples", input: "manifests/examples", expected: join(casesDir, "examples.expected.json") },
  ...readdirSync(casesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, input: join(casesDir, entry.name), expected: join(casesDir, `${entry.name}.expected.json`) }))
]

const render = async (dir: string) =>
  `${JSON.stringify(renderContents(await Effect.runPromise(readManifests([directoryInput(dir)], emptyContents)), defaultTranslateOptions).dump(), null, 2)}\n`

describe("golden render output", () => {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const actual = await render(testCase.input)
      if (refresh || !existsSync(testCase.expected)) {
        writeFileSync(testCase.expected, actual)
        if (!refresh) throw new Error(`wrote missing golden file ${testCase.expected}; review it and run again`)
        return
      }
      expect(actual).toBe(readFileSync(testCase.expected, "utf8"))
    })
  }
})
