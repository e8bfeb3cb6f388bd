// Watches a directory tree for changes: one inotify watch per directory,
// which also reports every file in it. Node's `recursive: true` on Linux
// watches every file as well, and re-lists a directory on each change to it,
// a cost paid (and a delay added) on every edit; this pays it only when a
// directory appears. Directories are entered by the reader's rule
// (`manifestTree.ts`): hidden ones skipped, symbolic links followed, each real
// directory once.
//
// A watch follows an inode, not a path: when the root itself is removed,
// renamed or replaced (`rm -rf DIR && mkdir DIR`, `mv DIR DIR.old`), its
// watches go quiet for good. So the root's identity is checked whenever its
// parent reports a change to its name, and on a timer as a safety net; a new
// root is watched afresh, and a missing one is reported until it is back.
import { type Dirent, type FSWatcher, readdirSync, realpathSync, statSync, watch } from "node:fs"
import { basename, dirname, join, sep } from "node:path"
import { isHiddenName } from "./manifestTree.ts"

export interface TreeWatcher {
  readonly close: () => void
}

export interface WatchOptions {
  /** Watch only this name inside the root, not the tree (a single file named on the command line). */
  readonly only?: string
  /** Called when the root disappears (false) and when it is back (true). */
  readonly onPresence?: (present: boolean) => void
  /** How often the root's identity is checked besides its parent's events. */
  readonly checkEveryMs?: number
}

const identityOf = (path: string): string | undefined => {
  try {
    const info = statSync(path)
    return info.isDirectory() ? `${info.dev}:${info.ino}` : undefined
  } catch {
    return undefined
  }
}

const realPathOf = (path: string): string | undefined => {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

/**
 * Calls `onChange` with the absolute path of every changed file or directory below `root`, or
 * with undefined when it cannot say which (a watch failed, a directory appeared with contents,
 * the root was replaced).
 */
export const watchTree = (root: string, onChange: (path: string | undefined) => void, options: WatchOptions = {}): TreeWatcher => {
  /** By the path a directory was reached through; `real` says which inode each stands for. */
  const watchers = new Map<string, { readonly watcher: FSWatcher; readonly real: string | undefined }>()
  const realWatched = new Set<string>()
  let closed = false

  const unwatch = (dir: string) => {
    for (const [path, { watcher, real }] of watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close()
        watchers.delete(path)
        if (real !== undefined) realWatched.delete(real)
      }
    }
  }

  const isDirectory = (path: string) => {
    try {
      return statSync(path).isDirectory()
    } catch {
      return false
    }
  }

  const add = (dir: string) => {
    if (closed || watchers.has(dir)) return
    const real = realPathOf(dir)
    // A link loop, or a second link to a directory already watched: the reader enters it once too.
    if (real !== undefined && realWatched.has(real)) return
    let watcher: FSWatcher
    try {
      watcher = watch(dir, (event, filename) => {
        const name = filename?.toString()
        if (options.only !== undefined) {
          if (name === options.only) onChange(join(dir, name))
          return
        }
        const path = name === undefined ? undefined : join(dir, name)
        // Created or moved in: a new directory is watched too; its files may predate the watch.
        if (event === "rename" && path !== undefined && path !== dir && !isHiddenName(basename(path))) {
          if (isDirectory(path)) {
            if (!watchers.has(path)) {
              add(path)
              onChange(undefined)
              return
            }
          } else if (watchers.has(path)) {
            unwatch(path)
          }
        }
        onChange(path)
      })
    } catch {
      onChange(undefined)
      return
    }
    watcher.on("error", () => {
      // The directory went away (or the watch broke): forget it and let the reader look again.
      unwatch(dir)
      if (dir === root) checkRoot()
      onChange(undefined)
    })
    watchers.set(dir, { watcher, real })
    if (real !== undefined) realWatched.add(real)
    if (options.only !== undefined) return
    let entries: Array<Dirent>
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      if (isHiddenName(entry.name)) continue
      const path = join(dir, entry.name)
      if (entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(path))) add(path)
    }
  }

  let identity = identityOf(root)
  /** The root is the same directory as before, or else everything below it is watched afresh. */
  const checkRoot = () => {
    if (closed) return
    const now = identityOf(root)
    if (now === identity) return
    const wasPresent = identity !== undefined
    identity = now
    unwatch(root)
    if (now !== undefined) add(root)
    if (wasPresent !== (now !== undefined)) options.onPresence?.(now !== undefined)
    onChange(undefined)
  }

  // The parent reports at once when the root's name is removed, renamed or created again.
  let parentWatcher: FSWatcher | undefined
  try {
    parentWatcher = watch(dirname(root), (_event, filename) => {
      if (filename?.toString() === basename(root)) checkRoot()
    })
    parentWatcher.on("error", () => parentWatcher?.close())
  } catch {
    parentWatcher = undefined // an unreadable parent: the timer still notices
  }
  const timer = setInterval(checkRoot, options.checkEveryMs ?? 1000)
  timer.unref()

  add(root)
  return {
    close: () => {
      closed = true
      clearInterval(timer)
      parentWatcher?.close()
      for (const { watcher } of watchers.values()) watcher.close()
      watchers.clear()
      realWatched.clear()
    }
  }
}
