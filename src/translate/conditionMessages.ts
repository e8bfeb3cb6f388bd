// Condition messages that fit where they are written. Kubernetes refuses a status whose
// condition message is longer than 32,768 characters (the Gateway API CRDs and metav1.Condition
// say so), and a refused write leaves the whole status stale. So long lists are summarised
// (counts and the first few names), and every message is cut at the limit as a last resort.
import type { DiscoveryProblem } from "./discovery.ts"

/** `maxLength` of a condition message in the Gateway API CRDs and metav1.Condition. */
export const MAX_CONDITION_MESSAGE = 32_768

/**
 * The longest message agentplane writes: under the limit, so the writer's merges and other
 * controllers' edits never push a message over it.
 */
export const MESSAGE_BUDGET = 30_000

/** Names listed before "and N more". */
export const LISTED_NAMES = 20

/** Distinct problems spelt out in one message before the rest are only counted. */
export const LISTED_PROBLEMS = 10

/** Names listed per problem shared by several Services. */
const NAMES_PER_PROBLEM = 5

const TRUNCATED = " … (message truncated)"

/**
 * `message` itself when it fits `limit` characters, else its start with a marker saying it was
 * cut. UTF-16 units are counted, never fewer than the characters Kubernetes counts, and a
 * surrogate pair is never split.
 */
export const capMessage = (message: string, limit: number = MESSAGE_BUDGET): string => {
  if (message.length <= limit) return message
  let end = limit - TRUNCATED.length
  const last = message.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${message.slice(0, end)}${TRUNCATED}`
}

/** "a, b, c" or "a, b, c and 97 more". */
export const listNames = (names: ReadonlyArray<string>, listed: number = LISTED_NAMES): string =>
  names.length <= listed ? names.join(", ") : `${names.slice(0, listed).join(", ")} and ${names.length - listed} more`

/**
 * Discovery problems in one message: Services with the same problem are named together ("1000
 * Services have …: a, b, c and 997 more"), at most LISTED_PROBLEMS distinct problems are spelt
 * out, and the rest are counted. Sorted, so that the message does not depend on the order
 * objects arrived in.
 */
export const describeServiceProblems = (problems: ReadonlyArray<DiscoveryProblem>): string => {
  const byProblem = new Map<string, Array<string>>()
  for (const p of problems) {
    const what = `${p.field} ${p.message}`
    const services = byProblem.get(what)
    const service = `${p.namespace}/${p.service}`
    if (services === undefined) byProblem.set(what, [service])
    else services.push(service)
  }
  const groups = [...byProblem].map(([what, services]) => ({ what, services: [...new Set(services)].sort() }))
  // The problems shared by most Services first (they are what a reader needs to see), then by Service.
  const text = (group: { readonly what: string; readonly services: ReadonlyArray<string> }) => `${group.services[0]} ${group.what}`
  groups.sort((a, b) => b.services.length - a.services.length || (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0))
  const shown = groups
    .slice(0, LISTED_PROBLEMS)
    .map(({ services, what }) =>
      services.length === 1 ? `Service ${services[0]}: ${what}` : `${services.length} Services have ${what}: ${listNames(services, NAMES_PER_PROBLEM)}`
    )
  const rest = groups.slice(LISTED_PROBLEMS)
  if (rest.length > 0) {
    const services = new Set(rest.flatMap((group) => group.services)).size
    shown.push(`and ${rest.length} other problem(s) of ${services} Service(s)`)
  }
  return capMessage(shown.join("; "))
}
