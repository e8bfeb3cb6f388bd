// Translation cost: a full translation (and its encoding into versioned
// resources) of a fresh World, and the pass after one Service changes (World
// update, translation and encoding, as `serve` does it), with the count of
// resource versions that changed.
import { decodeObject, type InputObject } from "../../src/api/objects.ts"
import { defaultTranslateOptions } from "../../src/translate/options.ts"
import { makeTranslator } from "../../src/translate/translate.ts"
import { worldFromObjects } from "../../src/translate/world.ts"
import { withChanges } from "../../src/translate/worldChanges.ts"
import { buildSnapshot, emptySnapshot, RESOURCE_TYPE_URL, resourcesOf, type Snapshot } from "../../src/xds/snapshot.ts"
import { objects, service, type WorldSize } from "./world.ts"

export interface TranslationFigures {
  readonly fullMs: number
  readonly heapMB: number
  readonly incrementalMs: number
  readonly changedVersions: number
  readonly changedGateways: number
}

const decoded = (raw: unknown): InputObject => {
  const outcome = decodeObject(raw)
  if (outcome._tag !== "Decoded") throw new Error(`bench world does not decode: ${JSON.stringify(outcome)}`)
  return outcome.object
}

const changedVersions = (before: Snapshot, after: Snapshot) => {
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

  // One Service changes (its port), and the World is updated as the sources do it.
  const index = Math.floor(size.services / 2)
  const edited = decoded(service(index, size, 1))
  const before = inputs.find((o) => o.kind === "Service" && o.metadata.name === `svc-${index}`)
  const again = performance.now()
  const second = translator(withChanges(world, [{ before, after: edited }]), defaultTranslateOptions)
  const next = buildSnapshot(second, snapshot)
  const incrementalMs = performance.now() - again
  const diff = changedVersions(snapshot, next)
  return { fullMs, heapMB, incrementalMs, changedVersions: diff.versions, changedGateways: diff.gateways }
}
