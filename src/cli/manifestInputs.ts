// What `render` and `serve` read, as a kubectl user would name it: files and
// directories, positional or with -f/--from, repeated, and `-` for standard
// input. Checked before anything starts, so a typo is one usage line.
import { type Stats, statSync } from "node:fs"
import { resolve } from "node:path"
import { MAX_FILE_BYTES, mebibytes } from "../files/manifestFile.ts"
import type { ManifestInput } from "../files/readManifests.ts"

export const STDIN = "-"
/** How standard input is named in problems. */
export const STDIN_NAME = "<stdin>"

export type Resolved =
  | { readonly _tag: "Inputs"; readonly inputs: ReadonlyArray<ManifestInput>; readonly readsStdin: boolean }
  | { readonly _tag: "Problem"; readonly message: string }

const problem = (message: string): Resolved => ({ _tag: "Problem", message })

/**
 * Turns the paths given (positional first, then each -f/--from, in order) into inputs; standard
 * input is left for the caller to read, since only a command that will run should wait on it.
 */
export const resolveInputs = (paths: ReadonlyArray<string>, example: string): Resolved => {
  if (paths.length === 0) {
    return problem(`no manifests given; name a file or directory of manifests (or - for standard input), e.g. ${example}`)
  }
  if (paths.filter((path) => path === STDIN).length > 1) return problem("- (standard input) is given more than once; give it once")
  const inputs: Array<ManifestInput> = []
  for (const path of paths) {
    if (path === STDIN) {
      inputs.push({ _tag: "Text", name: STDIN_NAME, text: "" })
      continue
    }
    let info: Stats
    try {
      info = statSync(path)
    } catch {
      return problem(`${path}: no such file or directory; give a file or a directory of manifests`)
    }
    if (info.isDirectory()) inputs.push({ _tag: "Directory", path: resolve(path) })
    else if (info.isFile()) inputs.push({ _tag: "File", path: resolve(path) })
    else return problem(`${path} is not a regular file or a directory; give a file or a directory of manifests`)
  }
  return { _tag: "Inputs", inputs, readsStdin: paths.includes(STDIN) }
}

/** Reads standard input to its end, refusing more than one manifest file may hold. */
export const readStdin = async (stream: NodeJS.ReadableStream = process.stdin): Promise<string | { readonly tooBig: string }> => {
  const chunks: Array<Buffer> = []
  let total = 0
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk
    total += buffer.length
    if (total > MAX_FILE_BYTES) {
      return { tooBig: `standard input holds more than the ${mebibytes(MAX_FILE_BYTES)} one manifest file may hold; give it as several files` }
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks, total).toString("utf8")
}

/** The inputs with standard input's text in place. */
export const withStdinText = (inputs: ReadonlyArray<ManifestInput>, text: string): ReadonlyArray<ManifestInput> =>
  inputs.map((input) => (input._tag === "Text" ? { ...input, text } : input))
