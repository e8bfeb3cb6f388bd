// The Services of a World, partitioned by namespace. It reads like a Map
// keyed by `namespace/name`, but an update copies only the namespaces it
// touches: after one Service changes, every other namespace keeps its very
// same Map, which later stages use to skip their work.
import type { Service } from "../api/core.ts"

const namespaceOfKey = (key: string) => key.slice(0, key.indexOf("/"))

export class ServicesByNamespace implements ReadonlyMap<string, Service> {
  readonly partitions: ReadonlyMap<string, ReadonlyMap<string, Service>>
  readonly count: number

  constructor(partitions: ReadonlyMap<string, ReadonlyMap<string, Service>>, count: number) {
    this.partitions = partitions
    this.count = count
  }

  static from(entries: Iterable<readonly [string, Service]>): ServicesByNamespace {
    const partitions = new Map<string, Map<string, Service>>()
    let count = 0
    for (const [key, service] of entries) {
      const namespace = namespaceOfKey(key)
      let partition = partitions.get(namespace)
      if (partition === undefined) {
        partition = new Map()
        partitions.set(namespace, partition)
      }
      if (!partition.has(key)) count += 1
      partition.set(key, service)
    }
    return new ServicesByNamespace(partitions, count)
  }

  /** A copy with `changes` applied (undefined removes); untouched namespaces are shared. */
  with(changes: Iterable<readonly [string, Service | undefined]>): ServicesByNamespace {
    const partitions = new Map(this.partitions)
    const copied = new Set<string>()
    let count = this.count
    for (const [key, service] of changes) {
      const namespace = namespaceOfKey(key)
      let partition = partitions.get(namespace) as Map<string, Service> | undefined
      if (!copied.has(namespace)) {
        partition = new Map(partition)
        partitions.set(namespace, partition)
        copied.add(namespace)
      }
      const had = partition!.has(key)
      if (service === undefined) {
        if (had) count -= 1
        partition!.delete(key)
      } else {
        if (!had) count += 1
        partition!.set(key, service)
      }
    }
    for (const namespace of copied) if (partitions.get(namespace)!.size === 0) partitions.delete(namespace)
    return new ServicesByNamespace(partitions, count)
  }

  get size() {
    return this.count
  }
  get(key: string) {
    return this.partitions.get(namespaceOfKey(key))?.get(key)
  }
  has(key: string) {
    return this.partitions.get(namespaceOfKey(key))?.has(key) ?? false
  }
  *entries(): MapIterator<[string, Service]> {
    for (const partition of this.partitions.values()) yield* partition.entries()
  }
  *keys(): MapIterator<string> {
    for (const partition of this.partitions.values()) yield* partition.keys()
  }
  *values(): MapIterator<Service> {
    for (const partition of this.partitions.values()) yield* partition.values()
  }
  [Symbol.iterator]() {
    return this.entries()
  }
  forEach(callback: (value: Service, key: string, map: ReadonlyMap<string, Service>) => void) {
    for (const [key, value] of this.entries()) callback(value, key, this)
  }
}
