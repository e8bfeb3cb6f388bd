// Which agentgateway binaries the proxy halves run against. `AGENTGATEWAY_BIN`
// (one path, or several separated by ":") names them; without it, every
// `../shared/agentgateway/<release>/agentgateway` beside the repository is
// used. Each binary is asked for its version, so a test of a behaviour that a
// release does not have is skipped for that release, with the reason in its
// name, instead of failing or passing.
import { execFileSync } from "node:child_process"
import { accessSync, constants, existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export interface ProxyRelease {
  /** As the binary reports it, e.g. "v1.4.1". */
  readonly version: string
  readonly binary: string
}

/** Behaviours that only some releases have, with the first release that has them. */
export const PROXY_FEATURES = {
  a2aV1CardRewrite: { since: "v1.3.0", what: "A2A 1.0 agent-card rewriting (supportedInterfaces)" }
} as const

export type ProxyFeature = keyof typeof PROXY_FEATURES

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url))
/** Where a checkout finds the release builds, beside the repository. */
export const SHARED_RELEASES_DIR = resolve(REPO_ROOT, "..", "shared", "agentgateway")

const parseVersion = (version: string): ReadonlyArray<number> => {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version)
  if (match === null) throw new Error(`not a release version: ${version}`)
  return [Number(match[1]), Number(match[2]), Number(match[3])]
}

/** Negative, zero or positive, as `a` is older than, the same as or newer than `b`. */
export const compareVersions = (a: string, b: string): number => {
  const [x, y] = [parseVersion(a), parseVersion(b)]
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return 0
}

export const releaseHas = (release: ProxyRelease, feature: ProxyFeature): boolean => compareVersions(release.version, PROXY_FEATURES[feature].since) >= 0

/** `agentgateway --version` prints JSON with `version`; a binary that cannot is a broken setup. */
const versionOf = (binary: string): string => {
  let output: string
  try {
    accessSync(binary, constants.X_OK)
    output = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 })
  } catch (error) {
    throw new Error(`agentgateway binary ${binary} cannot be run: ${(error as Error).message}`)
  }
  let version: unknown
  try {
    version = (JSON.parse(output) as { version?: unknown }).version
  } catch {
    version = undefined
  }
  if (typeof version !== "string" || !/^v?\d+\.\d+\.\d+/.test(version)) {
    throw new Error(`${binary} --version did not print JSON with a release "version": ${output.slice(0, 200)}`)
  }
  return version.startsWith("v") ? version : `v${version}`
}

const sharedBinaries = (): Array<string> => {
  if (!existsSync(SHARED_RELEASES_DIR)) return []
  return readdirSync(SHARED_RELEASES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(SHARED_RELEASES_DIR, entry.name, "agentgateway"))
    .filter((path) => existsSync(path))
}

const configured = (): string | undefined => {
  const value = process.env["AGENTGATEWAY_BIN"]
  return value === undefined || value === "" ? undefined : value
}

/** Where the binaries came from, for the one line the suite prints. */
export const releasesSource = (): string => (configured() === undefined ? SHARED_RELEASES_DIR : "AGENTGATEWAY_BIN")

const discover = (): ReadonlyArray<ProxyRelease> => {
  const paths = configured()
  const binaries =
    paths === undefined
      ? sharedBinaries()
      : paths
          .split(":")
          .filter((path) => path !== "")
          .map((path) => resolve(path))
  const releases = binaries.map((binary) => ({ version: versionOf(binary), binary }))
  return releases.sort((a, b) => compareVersions(a.version, b.version))
}

/** Oldest first. Empty when no binary is found: the proxy halves are then skipped. */
export const PROXY_RELEASES: ReadonlyArray<ProxyRelease> = discover()
