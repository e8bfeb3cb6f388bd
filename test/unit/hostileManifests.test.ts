// Manifests a careless or hostile user can write: each is a problem of its own
// file or document, named with the fix, and never stops the rest being read.
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { decodeObject } from "../../src/api/objects.ts"
import { describeProblem } from "../../src/world/source.ts"
import { MAX_FILE_BYTES, mebibytes } from "../../src/files/manifestFile.ts"
import { directoryInput, emptyContents, MAX_TOTAL_BYTES, objectsOf, readManifests } from "../../src/files/readManifests.ts"
import { mcpServiceYaml, objectNames, readDirectoryOnce } from "../support/manifests.ts"

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "agentplane-hostile-"))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const read = (previous = emptyContents) => readDirectoryOnce(dir, previous)
const names = objectNames
/** Problems as users read them, with the test directory's prefix left out. */
const described = (contents: Awaited<ReturnType<typeof read>>) =>
  [...contents.problems, ...objectsOf(contents).problems].map(describeProblem).map((line) => line.replaceAll(`${relative(process.cwd(), dir)}/`, ""))

const service = mcpServiceYaml

describe("YAML aliases", () => {
  it("an alias that names no anchor is a problem of its document; other files are read", async () => {
    writeFileSync(join(dir, "a.yaml"), "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  labels: *nope\n")
    writeFileSync(join(dir, "b.yaml"), service("good"))
    const contents = await read()
    expect(names(contents)).toEqual(["Service/good"])
    expect(described(contents)).toEqual([expect.stringMatching(/^a\.yaml \(document 1\): is not valid YAML: .*nope/)])
  })

  it("an alias bomb fails fast as a problem naming the bound, without expanding", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for (let level = 1; level < 9; level++)
      levels.push(
        `${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + level)}`)
          .join(", ")}]`
      )
    writeFileSync(join(dir, "bomb.yaml"), `${service("before")}---\n${levels.join("\n")}\n`)
    writeFileSync(join(dir, "c.yaml"), service("good"))
    const started = performance.now()
    const contents = await read()
    expect(performance.now() - started).toBeLessThan(5000)
    expect(names(contents)).toEqual(["Service/good"])
    expect(described(contents)).toEqual(["bomb.yaml (document 2): is not valid YAML: aliases expand more than 100 times; expand them by hand"])
  })
})

describe("what is not a regular file", () => {
  it("a FIFO at a manifest name is reported, not read (a read would wait for a writer forever)", async () => {
    execFileSync("mkfifo", [join(dir, "pipe.yaml")])
    writeFileSync(join(dir, "b.yaml"), service("good"))
    const contents = await read()
    expect(names(contents)).toEqual(["Service/good"])
    expect(described(contents)).toEqual([
      "pipe.yaml: is a named pipe (FIFO), not a regular file; only regular files are read, remove it or rename it off .yaml"
    ])
  })

  it("a link to a device is reported, not read (/dev/zero never ends)", async () => {
    symlinkSync("/dev/zero", join(dir, "zero.yaml"))
    const contents = await read()
    expect(described(contents)).toEqual([expect.stringContaining("zero.yaml: is a character device, not a regular file")])
  })
})

describe("size limits", () => {
  it("a file over the limit is refused by name, with the fix; one that grows past it keeps what it held", async () => {
    writeFileSync(join(dir, "big.yaml"), service("big"))
    const first = await read()
    writeFileSync(join(dir, "big.yaml"), `${service("big")}# ${"x".repeat(MAX_FILE_BYTES)}\n`)
    writeFileSync(join(dir, "b.yaml"), service("good"))
    const second = await read(first)
    expect(names(second)).toEqual(["Service/big", "Service/good"])
    expect(described(second)).toEqual([
      "big.yaml: holds 4.0 MiB, more than the 4.0 MiB one manifest file may hold; split it into several files; its last readable content is still served"
    ])
  })

  it("files past the limit of all files together are refused, always the same ones", async () => {
    const filler = (name: string) => `${service(name)}# ${"x".repeat(MAX_FILE_BYTES - 1024)}\n`
    const fit = Math.floor(MAX_TOTAL_BYTES / MAX_FILE_BYTES)
    for (let index = 0; index < fit + 2; index++) writeFileSync(join(dir, `f${index}.yaml`), filler(`s${index}`))
    const contents = await read()
    const held = mebibytes(fit * (MAX_FILE_BYTES - 1024))
    expect(described(contents)).toEqual(
      [fit, fit + 1].map(
        (index) =>
          `f${index}.yaml: is not read: all manifest files together may hold ${mebibytes(MAX_TOTAL_BYTES)}, and the files before it already hold ${held}; serve a fleet this big from a cluster`
      )
    )
    expect(names(contents)).toEqual(Array.from({ length: fit }, (_, index) => `Service/s${index}`))
  })
})

describe("symbolic links to directories", () => {
  it("are followed, and a loop or a second link to the same directory is entered once", async () => {
    mkdirSync(join(dir, "real"))
    writeFileSync(join(dir, "real", "a.yaml"), service("linked"))
    symlinkSync(join(dir, "real"), join(dir, "link"))
    symlinkSync(dir, join(dir, "real", "loop"))
    const contents = await read()
    // `link` sorts before `real`: the directory is read through it, and only through it.
    expect([...contents.files.keys()].map((file) => file.slice(file.lastIndexOf(dir) + dir.length + 1))).toEqual(["link/a.yaml"])
    expect(names(contents)).toEqual(["Service/linked"])
    expect(described(contents)).toEqual([])
  })

  it("a change inside a linked directory is read where the full read found it, so it never flaps", async () => {
    const outside = mkdtempSync(join(tmpdir(), "agentplane-outside-"))
    try {
      writeFileSync(join(outside, "a.yaml"), service("outside"))
      symlinkSync(outside, join(dir, "shared"))
      const first = await read()
      writeFileSync(join(outside, "a.yaml"), service("outside", 81))
      const changed = await Effect.runPromise(readManifests([directoryInput(dir)], first, new Set([join(dir, "shared", "a.yaml")])))
      const full = await read(changed)
      for (const contents of [changed, full]) {
        expect(objectsOf(contents).objects.map((o) => (o.kind === "Service" ? o.spec.ports?.[0]?.port : undefined))).toEqual([81])
      }
    } finally {
      rmSync(outside, { recursive: true, force: true })
    }
  })
})

describe("objects defined twice, Lists, bad ports and hostnames", () => {
  it("names an object defined twice in one file, with both documents", async () => {
    writeFileSync(join(dir, "a.yaml"), `${service("twice", 80)}---\n${service("twice", 81)}`)
    const contents = await read()
    expect(described(contents)).toEqual([
      "a.yaml (document 2): Service ns/twice is also defined in document 1 of this file; this later definition is used, remove one of them"
    ])
  })

  it("reads the items of a v1 List (kubectl get -o yaml), naming an unnamed bad item by index", async () => {
    const items = [service("one"), service("two"), "kind: Service\n"].map((item) => `- ${item.trimEnd().replaceAll("\n", "\n  ")}`)
    writeFileSync(join(dir, "list.yaml"), `apiVersion: v1\nkind: List\nitems:\n${items.join("\n")}\n`)
    const contents = await read()
    expect(names(contents)).toEqual(["Service/one", "Service/two"])
    expect(described(contents)).toContain(
      "list.yaml (document 1): Service default/(unnamed) items[2].metadata Missing key; the object is not used until it is fixed"
    )
  })

  it("refuses a Service with two ports of one number or one name, naming the second", () => {
    const outcome = decodeObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { ports: [{ name: "mcp", port: 80 }, { name: "mcp", port: 80 }, { port: 53, protocol: "UDP" }, { port: 53 }] }
    })
    expect(outcome).toMatchObject({
      _tag: "Invalid",
      issues: [
        { field: "spec.ports[1].port", message: "80 is also the port of spec.ports[0]; give each port its own number" },
        { field: "spec.ports[1].name", message: `"mcp" is also the name of spec.ports[0]; give each port its own name` }
      ]
    })
  })

  it("refuses a listener hostname that is not a DNS name", () => {
    const gateway = (hostname: string) =>
      decodeObject({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: "g" },
        spec: { gatewayClassName: "c", listeners: [{ name: "l", port: 80, protocol: "HTTP", hostname }] }
      })
    expect(gateway("*.example.com")._tag).toBe("Decoded")
    expect(gateway("mcp.example.com")._tag).toBe("Decoded")
    for (const bad of ["Upper.example.com", "example.com.", "host:8080", "a..b", "*"]) {
      expect(gateway(bad), bad).toMatchObject({ _tag: "Invalid", issues: [{ field: "spec.listeners[0].hostname" }] })
    }
    expect(gateway("10.0.0.1")).toMatchObject({ _tag: "Invalid", issues: [{ message: expect.stringContaining("is an IP address") }] })
  })
})
