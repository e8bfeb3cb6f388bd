// Translation cost: a full translation (and its encoding into versioned
// resources) of a fresh World, then Services changed one at a time (World
// update, translation and encoding, as `serve` does it), with the count of
// resource versions each change altered.
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { makeTranslator } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/world/world.ts"
import { withChanges } from "../../src/world/worldChanges.ts"
import { buildSnapshot, emptySnapshot, RESOURCE_TYPE_URL, resourcesOf, type Snapshot } from "../../src/xds/snapshot.ts"
import { objects, service, type WorldSize } from "./world.ts"

export interface TranslationFigures {
  readonly fullMs: number
  readonly heapMB: number
  /** The first change after the full translation (code paths not yet warm). */
  readonly firstChangeMs: number
  /** Median of the changes after it, each to another Service. */
  readonly changeMs: number
  /** Most resource versions and gateways any one change altered. */
  readonly changedVersions: number
  readonly changedGateways: number
}

/** Changes timed after the first one. */
const LATER_CHANGES = 100

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(`bench world does not decode: ${JSON.stringify(outcome)}`)
  return outcome.object
}

const versionsChanged = (before: Snapshot, after: Snapshot) => {
  let versions = 0
  let gateways = 0
  for (const [name, view] of after.gateways) {
    const old = before.gateways.get(name)
    if (old === view) continue
    gateways += 1
    const previous = old === undefined ? new Map() : resourcesOf(old, RESOURCE_TYPE_URL)
    for (const resource of resourcesOf(view, RESOURCE_TYPE_URL).values()) {
      if (previous.get(resource.name)?.version !== resource.version) versions += 1
    }
  }
  return { versions, gateways }
}

export const measureTranslation = (size: WorldSize): TranslationFigures => {
  const inputs = objects(size).map(decoded)
  globalThis.gc?.()
  const heapBefore = process.memoryUsage().heapUsed
  const translator = makeTranslator()
  const start = performance.now()
  const world = worldFromObjects(inputs)
  const first = translator(world, defaultTranslateOptions)
  const snapshot = buildSnapshot(first, emptySnapshot)
  const fullMs = performance.now() - start
  globalThis.gc?.()
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 1e6

  // Services change one at a time (a new port), and the World is updated as the sources do it.
  const current = new Map<number, InputObject>()
  for (const object of inputs) if (object.kind === "Service") current.set(Number(object.metadata.name.slice("svc-".length)), object)
  let latest = { world, snapshot }
  let changedVersions = 0
  let changedGateways = 0
  const times: Array<number> = []
  for (let change = 0; change <= LATER_CHANGES; change++) {
    const index = (Math.floor(size.services / 2) + change * 7919) % size.services
    const edited = decoded(service(index, size, change + 1))
    const started = performance.now()
    const nextWorld = withChanges(latest.world, [{ before: current.get(index), after: edited }])
    const nextSnapshot = buildSnapshot(translator(nextWorld, defaultTranslateOptions), latest.snapshot)
    times.push(performance.now() - started)
    const diff = versionsChanged(latest.snapshot, nextSnapshot)
    changedVersions = Math.max(changedVersions, diff.versions)
    changedGateways = Math.max(changedGateways, diff.gateways)
    current.set(index, edited)
    latest = { world: nextWorld, snapshot: nextSnapshot }
  }
  const later = times.slice(1).sort((a, b) => a - b)
  return { fullMs, heapMB, firstChangeMs: times[0]!, changeMs: later[Math.floor(later.length / 2)]!, changedVersions, changedGateways }
}
