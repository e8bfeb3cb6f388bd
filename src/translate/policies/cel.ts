// CEL is checked before the proxy sees it: the proxy accepts a policy whose expression does not
// parse with only a warning and then fails every request that reaches it.
import { parse } from "@bufbuild/cel"

/** Why `expression` (at `field`) does not parse, naming both; undefined when it parses. */
export const celProblem = (field: string, expression: string): string | undefined => {
  try {
    parse(expression)
    return undefined
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^<input>:/, "at ") : String(error)
    return `${field}: the CEL expression ${JSON.stringify(expression)} does not parse (${reason}); fix the expression`
  }
}
