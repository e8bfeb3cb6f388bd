// Which namespaces a listener admits (`allowedRoutes.namespaces`).
import type { LabelSelector } from "../api/meta.ts"
import type { World } from "../world/world.ts"

export const matchesSelector = (selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value) &&
  (selector.matchExpressions ?? []).every((requirement) => {
    const value = labels[requirement.key]
    switch (requirement.operator) {
      case "In":
        return value !== undefined && (requirement.values ?? []).includes(value)
      case "NotIn":
        return value === undefined || !(requirement.values ?? []).includes(value)
      case "Exists":
        return value !== undefined
      case "DoesNotExist":
        return value === undefined
    }
  })

/**
 * Labels of a namespace. Kubernetes always sets `kubernetes.io/metadata.name`;
 * a namespace we have no object for (common with YAML files) has just that one.
 */
export const namespaceLabels = (world: World, namespace: string): Readonly<Record<string, string>> => ({
  ...world.namespaces.get(namespace)?.metadata.labels,
  "kubernetes.io/metadata.name": namespace
})
