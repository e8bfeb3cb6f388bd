// traffic.authorization and backend.mcp.authorization: one CEL rule per matchExpression, in the
// list `action` chooses. Every expression is parsed first; one that does not parse refuses the policy.
import type { Authorization } from "../../api/agentgatewayPolicy.ts"
import { celProblem } from "./cel.ts"
import type { PolicyContext } from "./context.ts"

export interface Rules {
  readonly allow: Array<string>
  readonly deny: Array<string>
  readonly require: Array<string>
}

export const rulesPart = (authorization: Authorization, field: string, context: PolicyContext): Rules => {
  authorization.policy.matchExpressions.forEach((expression, index) =>
    context.findings.refuse(celProblem(`${field}.policy.matchExpressions[${index}]`, expression))
  )
  const expressions = [...authorization.policy.matchExpressions]
  const action = authorization.action ?? "Allow"
  return {
    allow: action === "Allow" ? expressions : [],
    deny: action === "Deny" ? expressions : [],
    require: action === "Require" ? expressions : []
  }
}
