// Watches a directory tree for changes: one inotify watch per directory,
// which also reports every file in it. Node's `recursive: true` on Linux
// watches every file as well, and re-lists a directory on each change to it,
// a cost paid (and a delay added) on every edit; this pays it only when a
// directory appears. Hidden directories are not entered: the reader skips
// them, and a ConfigMap's `..data` swap shows as a rename at the top.
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from "node:fs"
import { basename, join, sep } from "node:path"

export interface TreeWatcher {
  readonly close: () => void
}

const isHiddenName = (name: string) => name.startsWith(".")

/**
 * Calls `onChange` with the absolute path of every changed file or directory below `root`, or
 * with undefined when it cannot say which (a watch failed, a directory appeared with contents).
 */
export const watchTree = (root: string, onChange: (path: string | undefined) => void): TreeWatcher => {
  const watchers = new Map<string, FSWatcher>()
  let closed = false

  const unwatch = (dir: string) => {
    for (const [path, watcher] of watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close()
        watchers.delete(path)
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
    const watcher = watch(dir, (event, filename) => {
      const path = filename === null ? undefined : join(dir, filename.toString())
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
    watcher.on("error", () => {
      // The directory went away (or the watch broke): forget it and let the reader look again.
      unwatch(dir)
      onChange(undefined)
    })
    watchers.set(dir, watcher)
    let entries: Array<Dirent>
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !isHiddenName(entry.name)) add(join(dir, entry.name))
    }
  }

  add(root)
  return {
    close: () => {
      closed = true
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
    }
  }
}
