// A lock shared by every process on the machine. agentgateway binds fixed
// ports (admin 15000, metrics 15020, readiness 15021), and vitest runs test
// files in parallel workers, so proxy runs must take turns.
//
// mkdir is atomic: whoever creates the directory holds the lock. The owner's
// pid is written inside so a lock left by a killed run can be taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

export interface Lock {
  readonly release: () => void
}

export const acquireLock = async (path: string, options: { readonly what: string; readonly timeoutMs: number }): Promise<Lock> => {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    try {
      mkdirSync(path)
      writeFileSync(join(path, "pid"), String(process.pid))
      let released = false
      const release = () => {
        if (released) return
        released = true
        rmSync(path, { recursive: true, force: true })
        process.removeListener("exit", release)
      }
      // A worker that dies without its afterAll must not block the next run.
      process.once("exit", release)
      return { release }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    let owner = Number.NaN
    try {
      owner = Number(readFileSync(join(path, "pid"), "utf8"))
    } catch {
      // Created but not yet written: the owner is between the two calls above.
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      rmSync(path, { recursive: true, force: true })
      continue
    }
    if (Date.now() >= deadline) {
      throw new Error(`${options.what}: still held by pid ${Number.isNaN(owner) ? "?" : owner} after ${options.timeoutMs} ms (lock ${path})`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
