// Reads one manifest file without ever hanging or exhausting the process:
// only regular files are read (a FIFO would block a read forever, a device
// such as /dev/zero never ends), never more than a bounded number of bytes;
// the open never waits (non-blocking), and large files are read through the
// thread pool.
import { closeSync, constants, fstatSync, openSync, read, readSync, type Stats } from "node:fs"
import { promisify } from "node:util"

/** The most one manifest file may hold. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024

export type FileRead =
  | { readonly _tag: "Text"; readonly text: string }
  /** Gone (or gone between listing and reading): the next event reads it again. */
  | { readonly _tag: "Missing" }
  /** Present but not readable as a manifest; the message says why and what to do. */
  | { readonly _tag: "Refused"; readonly message: string }

export const mebibytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`

const kindOf = (info: Stats) =>
  info.isFIFO()
    ? "a named pipe (FIFO)"
    : info.isCharacterDevice()
      ? "a character device"
      : info.isBlockDevice()
        ? "a block device"
        : info.isSocket()
          ? "a socket"
          : info.isDirectory()
            ? "a directory"
            : "not a regular file"

const errorCode = (error: unknown) => (typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined)

const CHUNK_BYTES = 64 * 1024

const readAsync = promisify(read)

/**
 * Regular files up to this size are read at once, on the event loop: from the page cache that
 * takes microseconds, while every round trip through the thread pool adds a millisecond or more
 * to an edit under load. Larger ones are read through the thread pool, a chunk at a time.
 */
const READ_AT_ONCE_BYTES = 256 * 1024

const refusedOpen = (error: unknown): FileRead => {
  const code = errorCode(error)
  if (code === "ENOENT" || code === "ENOTDIR") return { _tag: "Missing" }
  if (code === "EACCES" || code === "EPERM") return { _tag: "Refused", message: "cannot be read: permission denied; make it readable by agentplane" }
  if (code === "ELOOP") return { _tag: "Refused", message: "is a loop of symbolic links; point the link at a file" }
  if (code === "ENXIO") return { _tag: "Refused", message: "is a socket, not a regular file; only regular files are read" }
  return { _tag: "Refused", message: `cannot be read (${code ?? String(error)})` }
}

/** Reads `fd` to its end, never more than one byte past `limit`: a file that grows after the check is still bounded. */
const readBounded = async (fd: number, limit: number, atOnce: boolean): Promise<FileRead> => {
  const chunks: Array<Buffer> = []
  let total = 0
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit + 1 - total))
    const bytesRead = atOnce ? readSync(fd, chunk, 0, chunk.length, null) : (await readAsync(fd, chunk, 0, chunk.length, null)).bytesRead
    if (bytesRead === 0) break
    chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead))
    total += bytesRead
    if (total > limit) return tooBig(total, limit)
  }
  return { _tag: "Text", text: Buffer.concat(chunks, total).toString("utf8") }
}

export const readManifestFile = async (path: string, limit = MAX_FILE_BYTES): Promise<FileRead> => {
  let fd: number
  try {
    // Non-blocking, so that opening a FIFO with no writer returns at once instead of waiting.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    return refusedOpen(error)
  }
  try {
    // Checked on the open file, not the path: what is read is what was checked.
    const info = fstatSync(fd)
    if (!info.isFile())
      return { _tag: "Refused", message: `is ${kindOf(info)}, not a regular file; only regular files are read, remove it or rename it off .yaml` }
    if (info.size > limit) return tooBig(info.size, limit)
    return await readBounded(fd, limit, info.size <= READ_AT_ONCE_BYTES)
  } catch (error) {
    const code = errorCode(error)
    if (code === "EAGAIN") return { _tag: "Refused", message: "would block on read; only regular files are read" }
    return { _tag: "Refused", message: `cannot be read (${code ?? String(error)})` }
  } finally {
    closeSync(fd)
  }
}

/** `bytes` is the size the file said it had, or how far a read got past the limit. */
const tooBig = (bytes: number, limit: number): FileRead => ({
  _tag: "Refused",
  message: `holds ${bytes > limit + 1 ? `${mebibytes(bytes)}, ` : ""}more than the ${mebibytes(limit)} one manifest file may hold; split it into several files`
})
