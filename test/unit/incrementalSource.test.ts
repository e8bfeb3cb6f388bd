// The incremental pieces of the file source agree with reading from scratch:
// document splitting, and the World kept up to date file by file.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import * as fc from "fast-check"
import { parseAllDocuments } from "yaml"
import { afterAll, describe, expect, it } from "vitest"
import { splitDocuments } from "../../src/files/parseManifests.ts"
import { directoryInput, emptyContents, objectsOf, readManifests, type ManifestContents } from "../../src/files/readManifests.ts"
import { WorldAccumulator } from "../../src/files/worldAccumulator.ts"
import { worldFromObjects, type World } from "../../src/world/world.ts"
import { mcpServiceYaml } from "../support/manifests.ts"

const dir = mkdtempSync(join(tmpdir(), "agentplane-incremental-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("splitDocuments", () => {
  const streams = [
    "a: 1\n---\nb: 2\n",
    "# leading comment\n\n---\na: 1\n--- \nb: 2\n...\n---\nc: 3",
    "--- {a: 1}\n--- [1, 2]\nkey: |\n  ---not a marker\n  text\n",
    "---\n---\n",
    "a: 1\r\n---\r\nb: 2\r\n--- \r\nc: 3",
    "  # indented comment\n---\n# comment only\n---\na: 1\n----\n---x: 2\n",
    ""
  ]
  for (const stream of streams) {
    it(`gives the same documents as parsing the whole stream: ${JSON.stringify(stream)}`, () => {
      const whole = parseAllDocuments(stream).map((d) => d.toJS())
      const pieces = splitDocuments(stream).flatMap((chunk) => parseAllDocuments(chunk).map((d) => d.toJS()))
      expect(pieces).toEqual(whole)
    })
  }
})

/** Each kind's entries sorted by key: Maps are compared by content, not insertion order. */
const canonical = (world: World) =>
  Object.fromEntries(
    Object.entries(world).map(([kind, map]) => [kind, [...(map as ReadonlyMap<string, unknown>).entries()].sort(([a], [b]) => (a < b ? -1 : 1))])
  )

const service = (name: string, namespace: string, port: number) => mcpServiceYaml(name, port, namespace)

describe("WorldAccumulator", () => {
  it("keeps the same World as a full read through random edits, removals and duplicates", async () => {
    const edit = fc.record({
      file: fc.constantFrom("a.yaml", "b.yaml", "c.yaml"),
      services: fc.array(fc.record({ name: fc.constantFrom("x", "y", "z"), namespace: fc.constantFrom("n1", "n2"), port: fc.integer({ min: 1, max: 5 }) }), {
        maxLength: 3
      }),
      remove: fc.boolean()
    })
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 8 }), async (edits) => {
        const caseDir = mkdtempSync(join(dir, "case-"))
        const accumulator = new WorldAccumulator()
        let contents: ManifestContents = emptyContents
        for (const step of edits) {
          const path = join(caseDir, step.file)
          if (step.remove) {
            try {
              unlinkSync(path)
            } catch {}
          } else {
            writeFileSync(path, step.services.map((s) => service(s.name, s.namespace, s.port)).join("---\n"))
          }
          contents = await Effect.runPromise(readManifests([directoryInput(caseDir)], contents, new Set([path])))
          // A file left empty is taken as empty once its grace is over, as the watcher does.
          if (contents.emptied.size > 0)
            contents = await Effect.runPromise(readManifests([directoryInput(caseDir)], contents, contents.emptied, contents.emptied))
          const incremental = accumulator.update(contents)
          const scratch = await Effect.runPromise(readManifests([directoryInput(caseDir)], emptyContents))
          const expected = objectsOf(scratch)
          expect(canonical(incremental.world)).toEqual(canonical(worldFromObjects(expected.objects)))
          expect(incremental.duplicates.map((p) => p.message).sort()).toEqual(expected.problems.map((p) => p.message).sort())
        }
        rmSync(caseDir, { recursive: true, force: true })
      }),
      { numRuns: 60 }
    )
  })
})
