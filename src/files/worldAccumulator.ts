// Keeps the World of a directory up to date file by file: a changed file
// costs what it holds, not what the directory holds. Kinds it does not touch
// keep their Map (and so their identity) from one World to the next.
import type { InputObject } from "../api/objects.ts"
import type { SourceProblem } from "../world/source.ts"
import { emptyWorld, type World } from "../world/world.ts"
import { withChanges, type WorldChange } from "../world/worldChanges.ts"
import type { FileObjects } from "./parseManifests.ts"
import { duplicateProblems, type ManifestContents } from "./readManifests.ts"

export class WorldAccumulator {
  private files: ReadonlyMap<string, FileObjects> = new Map()
  /** Files defining each object identity; the last in path order wins. */
  private readonly filesById = new Map<string, Set<string>>()
  private winners = new Map<string, InputObject>()
  /** Identities defined by more than one file. */
  private readonly duplicated = new Set<string>()
  world: World = emptyWorld

  /** Brings the World to `contents`, looking only at files whose objects changed. */
  update(contents: ManifestContents): { readonly world: World; readonly duplicates: ReadonlyArray<SourceProblem> } {
    const touched = new Set<string>()
    const names = new Set([...this.files.keys(), ...contents.files.keys()])
    for (const file of names) {
      const before = this.files.get(file)
      const after = contents.files.get(file)
      if (before?.objects === after?.objects) continue
      // An edit re-reads the whole file, but keeps the very objects of unchanged documents: only
      // the ones that differ are looked at.
      for (const [id, object] of before?.objects ?? []) {
        if (after?.objects.get(id) === object) continue
        this.filesById.get(id)?.delete(file)
        touched.add(id)
      }
      for (const [id, object] of after?.objects ?? []) {
        if (before?.objects.get(id) === object) continue
        const owners = this.filesById.get(id) ?? new Set()
        owners.add(file)
        this.filesById.set(id, owners)
        touched.add(id)
      }
    }
    this.files = contents.files
    const changes: Array<WorldChange> = []
    for (const id of touched) {
      const owners = this.filesById.get(id)
      if (owners !== undefined && owners.size > 1) this.duplicated.add(id)
      else this.duplicated.delete(id)
      const winnerFile = owners === undefined || owners.size === 0 ? undefined : [...owners].sort().at(-1)!
      const object = winnerFile === undefined ? undefined : contents.files.get(winnerFile)!.objects.get(id)
      const old = this.winners.get(id)
      if (object === old) continue
      changes.push({ before: old, after: object })
      if (object === undefined) {
        this.winners.delete(id)
        this.filesById.delete(id)
      } else {
        this.winners.set(id, object)
      }
    }
    this.world = withChanges(this.world, changes)
    return { world: this.world, duplicates: this.duplicates() }
  }

  /** The file whose definition of the object `id` is used. */
  fileOf(id: string): string | undefined {
    const owners = this.filesById.get(id)
    return owners === undefined || owners.size === 0 ? undefined : [...owners].sort().at(-1)
  }

  private duplicates(): ReadonlyArray<SourceProblem> {
    return [...this.duplicated].flatMap((id) => duplicateProblems(this.winners.get(id)!, [...this.filesById.get(id)!].sort()))
  }
}
