// Reading manifests: every problem names file, document, kind, name and
// field, and the last readable input keeps serving.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer, Stream } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { describeProblem, Source, type SourceUpdate } from "../../src/world/source.ts"
import { Readiness } from "../../src/telemetry/readiness.ts"
import { manifestSource } from "../../src/files/manifestSource.ts"
import { directoryInput, emptyContents, objectsOf, readManifests, REWRITE_GRACE_MS } from "../../src/files/readManifests.ts"
import { mcpServiceYaml, objectNames, readDirectoryOnce } from "../support/manifests.ts"

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "agentplane-files-"))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const read = (previous = emptyContents) => readDirectoryOnce(dir, previous)
const names = objectNames

const service = mcpServiceYaml

describe("readManifests", () => {
  it("reads multi-document YAML files recursively, .yaml and .yml, skipping hidden folders and other kinds", async () => {
    mkdirSync(join(dir, "nested"))
    mkdirSync(join(dir, "..data"))
    writeFileSync(join(dir, "a.yaml"), `${service("one", 80)}---\n${service("two", 81)}\n---\n`)
    writeFileSync(join(dir, "nested/b.yml"), `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\n${service("three", 82)}`)
    writeFileSync(join(dir, "..data/a.yaml"), service("hidden", 83))
    writeFileSync(join(dir, "notes.txt"), "not yaml")
    symlinkSync(join(dir, "nested/b.yml"), join(dir, "linked.yaml"))
    const contents = await read()
    expect(names(contents)).toEqual(["Service/one", "Service/three", "Service/two"])
    expect(contents.ignoredKinds).toEqual(["apps/v1 Deployment"])
    // The linked file defines the same Service again: reported, not fatal.
    expect(objectsOf(contents).problems.map(describeProblem).join()).toContain("is also defined in")
  })

  it("names file, document, kind, object and field of an object that does not decode", async () => {
    writeFileSync(join(dir, "a.yaml"), `${service("ok", 80)}---\n${service("bad", "eighty")}`)
    const contents = await read()
    expect(names(contents)).toEqual(["Service/ok"])
    expect(contents.problems).toHaveLength(1)
    const problem = contents.problems[0]!
    expect(problem).toMatchObject({ document: 1, kind: "Service", namespace: "ns", name: "bad", field: "spec.ports[0].port" })
    expect(describeProblem(problem)).toMatch(/a\.yaml \(document 2\): Service ns\/bad spec\.ports\[0\]\.port .*not used until it is fixed/)
  })

  it("keeps the last good version of an object that stops decoding", async () => {
    writeFileSync(join(dir, "a.yaml"), service("svc", 80))
    const first = await read()
    writeFileSync(join(dir, "a.yaml"), service("svc", 0))
    const second = await read(first)
    expect(names(second)).toEqual(["Service/svc"])
    expect(describeProblem(second.problems[0]!)).toContain("last good version is still served")
  })

  it("keeps the last readable content of a file that stops parsing, and reports the syntax error", async () => {
    writeFileSync(join(dir, "a.yaml"), service("svc", 80))
    writeFileSync(join(dir, "b.yaml"), service("other", 80))
    const first = await read()
    writeFileSync(join(dir, "a.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: [\n")
    const second = await read(first)
    expect(names(second)).toEqual(["Service/other", "Service/svc"])
    expect(describeProblem(second.problems[0]!)).toMatch(/a\.yaml \(document 1\): is not valid YAML: .*last readable content is still served/)
  })

  it("reports an object without kind, and ignores same-named kinds of other API groups", async () => {
    writeFileSync(join(dir, "a.yaml"), "metadata:\n  name: x\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: istio\n")
    const contents = await read()
    expect(contents.problems.map((p) => p.field)).toEqual(["kind"])
    expect(contents.ignoredKinds).toEqual(["networking.istio.io/v1 Gateway"])
  })

  it("names a directory that is gone, and keeps the objects last read from it", async () => {
    writeFileSync(join(dir, "a.yaml"), service("svc", 80))
    const first = await read()
    rmSync(dir, { recursive: true })
    const second = await read(first)
    expect(names(second)).toEqual(["Service/svc"])
    expect(second.lost).toEqual([dir])
    expect(describeProblem(second.problems[0]!)).toContain("is gone; the objects last read from it are still served until it is back")
  })
})

describe("a file rewritten in place", () => {
  it("keeps its objects while it reads empty, and names it as emptied", async () => {
    writeFileSync(join(dir, "a.yaml"), service("svc", 80))
    const first = await read()
    writeFileSync(join(dir, "a.yaml"), "")
    const second = await Effect.runPromise(readManifests([directoryInput(dir)], first, new Set([join(dir, "a.yaml")])))
    expect(names(second)).toEqual(["Service/svc"])
    expect([...second.emptied]).toEqual([join(dir, "a.yaml")])
  })

  it("empties a file that still reads empty once its grace is over", async () => {
    writeFileSync(join(dir, "a.yaml"), service("svc", 80))
    const first = await read()
    writeFileSync(join(dir, "a.yaml"), "")
    const path = join(dir, "a.yaml")
    const second = await Effect.runPromise(readManifests([directoryInput(dir)], first, new Set([path]), new Set([path])))
    expect(names(second)).toEqual([])
    expect(second.emptied.size).toBe(0)
  })

  it("never loses the objects of a file written again; a file left empty loses them after the grace", async () => {
    writeFileSync(join(dir, "a.yaml"), service("svc", 80))
    writeFileSync(join(dir, "b.yaml"), service("other", 90))
    const ports = (update: SourceUpdate, name: string) => update.world.services.get(`ns/${name}`)?.spec.ports?.map((p) => p.port)
    const seen = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const source = yield* Layer.build(manifestSource([directoryInput(dir)]).pipe(Layer.provide(Readiness.layer))).pipe(Effect.map(Context.get(Source)))
          const updates: Array<SourceUpdate> = []
          yield* source.updates.pipe(
            Stream.runForEach((update) => Effect.sync(() => updates.push(update))),
            Effect.forkScoped
          )
          yield* Effect.sleep("100 millis")
          // Truncated, then written 5 ms later, as `cat > file` or an editor saving in place would.
          writeFileSync(join(dir, "a.yaml"), "")
          yield* Effect.sleep("5 millis")
          writeFileSync(join(dir, "a.yaml"), service("svc", 81))
          // Left empty: its objects go once the grace is over.
          writeFileSync(join(dir, "b.yaml"), "")
          yield* Effect.sleep(`${REWRITE_GRACE_MS * 8} millis`)
          return updates
        })
      )
    )
    expect(seen.every((update) => ports(update, "svc") !== undefined)).toBe(true)
    expect(ports(seen.at(-1)!, "svc")).toEqual([81])
    expect(ports(seen.at(-1)!, "other")).toBeUndefined()
  })
})
