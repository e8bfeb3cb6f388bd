// src/gen/ must be exactly what `npm run gen` produces from proto/.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const files = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort()

const fresh = mkdtempSync(join(tmpdir(), "agentplane-gen-"))
afterAll(() => rmSync(fresh, { recursive: true, force: true }))

describe("generated protobuf code", () => {
  it("is up to date with proto/ (run `npm run gen` after editing a .proto file)", () => {
    const result = spawnSync(process.execPath, ["proto/generate.ts", fresh], { encoding: "utf8" })
    expect(result.status, result.stderr).toBe(0)
    const committed = files("src/gen")
    expect(files(fresh)).toEqual(committed)
    for (const file of committed) {
      expect(readFileSync(join("src/gen", file), "utf8"), `src/gen/${file} is stale`).toBe(readFileSync(join(fresh, file), "utf8"))
    }
  })
})
