// In file mode the files are the whole world: a Gateway naming a GatewayClass
// that no file defines would otherwise get no status and no log line at all,
// and its proxy an empty configuration with no word of why.
import type { SourceProblem } from "../world/source.ts"
import type { World } from "../world/world.ts"

/** One problem per Gateway whose `spec.gatewayClassName` names no GatewayClass; `originOf` finds its file. */
export const missingClassProblems = (world: World, originOf: (gatewayKey: string) => string): Array<SourceProblem> => {
  const problems: Array<SourceProblem> = []
  for (const [key, gateway] of world.gateways) {
    const className = gateway.spec.gatewayClassName
    if (world.gatewayClasses.has(className)) continue
    problems.push({
      origin: originOf(key),
      kind: "Gateway",
      namespace: gateway.metadata.namespace ?? "default",
      name: gateway.metadata.name,
      field: "spec.gatewayClassName",
      message: `names GatewayClass ${className}, which no manifest defines; add that GatewayClass or name one that exists`
    })
  }
  return problems.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0))
}
