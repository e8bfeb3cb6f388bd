// Watching a manifest tree: files at any depth are reported by path,
// directories that appear later are watched too, hidden ones are not.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { type TreeWatcher, watchTree } from "../../src/files/treeWatcher.ts"

let dir: string
let watcher: TreeWatcher | undefined
let seen: Array<string | undefined>

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "agentplane-tree-"))
  seen = []
})
afterEach(() => {
  watcher?.close()
  watcher = undefined
  rmSync(dir, { recursive: true, force: true })
})

const start = () => {
  watcher = watchTree(dir, (path) => seen.push(path))
}

const eventually = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen ${JSON.stringify(seen)}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150))

describe("watchTree", () => {
  it("reports changed files by path, at the top and in nested directories", async () => {
    mkdirSync(join(dir, "team/tools"), { recursive: true })
    writeFileSync(join(dir, "a.yaml"), "a: 1\n")
    writeFileSync(join(dir, "team/tools/b.yaml"), "b: 1\n")
    start()
    writeFileSync(join(dir, "a.yaml"), "a: 2\n")
    writeFileSync(join(dir, "team/tools/b.yaml"), "b: 2\n")
    await eventually(() => seen.includes(join(dir, "a.yaml")) && seen.includes(join(dir, "team/tools/b.yaml")), "both files")
  })

  it("watches a directory created later", async () => {
    start()
    mkdirSync(join(dir, "later"))
    await eventually(() => seen.length > 0, "the new directory")
    await settle()
    writeFileSync(join(dir, "later/c.yaml"), "c: 1\n")
    await eventually(() => seen.includes(join(dir, "later/c.yaml")), "a file in the new directory")
  })

  it("asks for a full read when a directory with files moves in", async () => {
    const outside = mkdtempSync(join(tmpdir(), "agentplane-tree-outside-"))
    writeFileSync(join(outside, "d.yaml"), "d: 1\n")
    start()
    renameSync(outside, join(dir, "moved"))
    await eventually(() => seen.includes(undefined), "an unspecific change")
    writeFileSync(join(dir, "moved/d.yaml"), "d: 2\n")
    await eventually(() => seen.includes(join(dir, "moved/d.yaml")), "a file in the moved directory")
  })

  it("does not enter hidden directories", async () => {
    mkdirSync(join(dir, "..data"))
    start()
    writeFileSync(join(dir, "..data/e.yaml"), "e: 1\n")
    writeFileSync(join(dir, "f.yaml"), "f: 1\n")
    await eventually(() => seen.includes(join(dir, "f.yaml")), "the visible file")
    await settle()
    expect(seen.filter((path) => path?.includes("..data/"))).toEqual([])
  })

  it("stops watching a removed directory, and reports nothing once closed", async () => {
    mkdirSync(join(dir, "gone"))
    start()
    rmSync(join(dir, "gone"), { recursive: true })
    await eventually(() => seen.some((path) => path === join(dir, "gone")), "the removal")
    watcher!.close()
    await settle()
    seen = []
    writeFileSync(join(dir, "g.yaml"), "g: 1\n")
    await settle()
    expect(seen).toEqual([])
  })
})

describe("watchTree's root", () => {
  it("is watched afresh when replaced, and its absence and return are reported", async () => {
    const root = join(dir, "root")
    mkdirSync(root)
    const presence: Array<boolean> = []
    watcher = watchTree(root, (path) => seen.push(path), { onPresence: (present) => presence.push(present), checkEveryMs: 50 })
    renameSync(root, join(dir, "old"))
    await eventually(() => presence.includes(false), "the root reported gone")
    mkdirSync(root)
    await eventually(() => presence.at(-1) === true, "the root reported back")
    seen = []
    writeFileSync(join(root, "after.yaml"), "a: 1\n")
    await eventually(() => seen.includes(join(root, "after.yaml")), "a change in the new root")
  })

  it("with only, reports that one name, also when an editor renames a new file over it", async () => {
    writeFileSync(join(dir, "a.yaml"), "a: 1\n")
    watcher = watchTree(dir, (path) => seen.push(path), { only: "a.yaml" })
    writeFileSync(join(dir, "b.yaml"), "b: 1\n")
    writeFileSync(join(dir, ".a.yaml.swp"), "a: 2\n")
    renameSync(join(dir, ".a.yaml.swp"), join(dir, "a.yaml"))
    await eventually(() => seen.includes(join(dir, "a.yaml")), "the renamed-over file")
    await settle()
    expect(new Set(seen)).toEqual(new Set([join(dir, "a.yaml")]))
  })

  it("follows a link to a directory, and a link loop is watched once", async () => {
    const outside = mkdtempSync(join(tmpdir(), "agentplane-tree-outside-"))
    try {
      symlinkSync(outside, join(dir, "linked"))
      symlinkSync(dir, join(outside, "loop"))
      start()
      writeFileSync(join(outside, "x.yaml"), "x: 1\n")
      await eventually(() => seen.includes(join(dir, "linked", "x.yaml")), "a change in the linked directory")
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })
})
