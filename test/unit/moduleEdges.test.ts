// Data flows one way through the top-level folders of src/: no folder imports
// one that imports it back (directly or around a loop), and api/ — the input
// schemas — depends on nothing else of ours.
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"
import { describe, expect, it } from "vitest"

const SRC = "src"

const sources = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return path === join(SRC, "gen") ? [] : sources(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

/** `translate` for src/translate/x.ts; files directly in src/ are the composition root. */
const folderOf = (path: string) => {
  const parts = relative(SRC, path).split("/")
  return parts.length > 1 ? parts[0]! : "(root)"
}

/** Folder → the folders it imports (type-only imports too: they are edges of the design). */
const folderGraph = () => {
  const graph = new Map<string, Set<string>>()
  for (const file of sources(SRC)) {
    const from = folderOf(file)
    for (const match of readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*"(\.[^"]+)"/g)) {
      const to = folderOf(normalize(join(dirname(file), match[1]!)))
      if (to === from || to === "gen") continue
      graph.set(from, (graph.get(from) ?? new Set()).add(to))
    }
  }
  return graph
}

/** Every loop of the graph, as the folders it passes through. */
const loops = (graph: ReadonlyMap<string, ReadonlySet<string>>) => {
  const found: Array<string> = []
  const walk = (start: string, at: string, path: ReadonlyArray<string>) => {
    for (const next of graph.get(at) ?? []) {
      if (next === start) found.push([...path, next].join(" → "))
      else if (!path.includes(next) && next > start) walk(start, next, [...path, next])
    }
  }
  for (const start of graph.keys()) walk(start, start, [start])
  return found
}

describe("module edges", () => {
  it("no top-level folder of src/ imports one that imports it back", () => {
    expect(loops(folderGraph())).toEqual([])
  })

  it("api/ depends on nothing of ours, world/ only on api/", () => {
    const graph = folderGraph()
    expect([...(graph.get("api") ?? [])]).toEqual([])
    expect([...(graph.get("world") ?? [])]).toEqual(["api"])
  })

  it("finds a loop when there is one", () => {
    expect(
      loops(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set(["c"])],
          ["c", new Set(["a"])]
        ])
      )
    ).toEqual(["a → b → c → a"])
  })
})
