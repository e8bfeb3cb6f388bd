// Which files below a directory are manifests, by one rule that the reader and
// the watcher share: `*.yaml`/`*.yml`, hidden names skipped (a mounted
// ConfigMap keeps a second copy of every file under `..data`), symbolic links
// followed (ConfigMap files are links, and users link directories in), and a
// directory reached twice (a link loop, or two links to one place) entered once.
import type { Dirent } from "node:fs"
import { readdir, realpath, stat } from "node:fs/promises"
import { join, relative } from "node:path"

export const isManifestName = (name: string) => name.endsWith(".yaml") || name.endsWith(".yml")

export const isHiddenName = (name: string) => name.startsWith(".")

/** A path below `root` with a hidden segment (relative to `root`) is not read. */
export const isHiddenBelow = (root: string, path: string) => relative(root, path).split(/[\\/]/).some(isHiddenName)

export interface ManifestTree {
  /** Manifest paths (files, or whatever else sits at a manifest name), sorted. */
  readonly files: ReadonlyArray<string>
  /** Every directory entered, by the path it was reached through. */
  readonly directories: ReadonlySet<string>
}

const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/** Lists `root`, depth first in name order, so that which link to a shared directory wins is stable. */
export const listManifestTree = async (root: string): Promise<ManifestTree> => {
  const files: Array<string> = []
  const directories = new Set<string>()
  const entered = new Set<string>()
  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir).catch(() => undefined)
    if (real === undefined || entered.has(real)) return
    entered.add(real)
    directories.add(dir)
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Array<Dirent>)
    for (const entry of entries.sort(byName)) {
      if (isHiddenName(entry.name)) continue
      const path = join(dir, entry.name)
      const isDirectory = entry.isSymbolicLink() ? (await stat(path).catch(() => undefined))?.isDirectory() === true : entry.isDirectory()
      if (isDirectory) await walk(path)
      // Not only regular files: a FIFO or device at a manifest name is reported, not skipped.
      else if (isManifestName(entry.name)) files.push(path)
    }
  }
  await walk(root)
  return { files: files.sort(), directories }
}
