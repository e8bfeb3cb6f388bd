// flake.nix cannot be evaluated here (no network to nixpkgs), but it must parse.
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"

const nix = spawnSync("nix-instantiate", ["--version"], { encoding: "utf8" })
const available = nix.status === 0
// CI installs nix-bin (.ci/run), so there the check always runs.
const runs = available || process.env["CI"] !== undefined

describe("flake.nix", () => {
  it.runIf(runs)("parses", () => {
    expect(available, "nix-instantiate is missing: install Debian's nix-bin").toBe(true)
    const result = spawnSync("nix-instantiate", ["--parse", "flake.nix"], { encoding: "utf8" })
    expect(result.status, result.stderr).toBe(0)
  })
})
