// AgentgatewayPolicy objects for tests: one per supported field group (together they set every
// field of the subset), the examples the repository ships, and policies with fields agentplane
// does not support.
import { readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { parseAllDocuments } from "yaml"

export const POLICIES = "/apis/agentgateway.dev/v1alpha1"

const gatewayTarget = (name: string, sectionName?: string) => ({
  group: "gateway.networking.k8s.io",
  kind: "Gateway",
  name,
  ...(sectionName === undefined ? {} : { sectionName })
})

export const policy = (name: string, spec: Record<string, unknown>, namespace = "default") => ({
  apiVersion: "agentgateway.dev/v1alpha1",
  kind: "AgentgatewayPolicy",
  metadata: { name, namespace },
  spec
})

const JWKS = JSON.stringify({
  keys: [{ kty: "EC", crv: "P-256", kid: "k1", x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }]
})

/** Every field of the supported subset, spread over a few policies. */
export const FIELD_POLICIES = [
  policy("jwt-inline", {
    targetRefs: [gatewayTarget("mcp-gateway")],
    traffic: {
      jwtAuthentication: {
        mode: "Strict",
        providers: [{ issuer: "https://issuer.example.com", audiences: ["mcp"], jwks: { inline: JWKS } }],
        location: { header: { name: "Authorization", prefix: "Bearer " } },
        mcp: { provider: "Keycloak", resourceMetadata: { scopes_supported: ["openid"], resource_name: "tools" }, clientId: "agentplane" }
      }
    }
  }),
  policy("jwt-remote", {
    targetRefs: [gatewayTarget("mcp-gateway", "mcp")],
    traffic: {
      jwtAuthentication: {
        mode: "Optional",
        providers: [
          { issuer: "https://idp.example.com", jwks: { remote: { backendRef: { name: "idp", port: 8080 }, jwksPath: "/jwks.json", cacheDuration: "5m" } } }
        ],
        location: { cookie: { name: "session" } }
      },
      authorization: { action: "Allow", policy: { matchExpressions: ['jwt.sub == "alice"'] } }
    }
  }),
  policy("api-keys", {
    targetRefs: [gatewayTarget("mcp-gateway")],
    traffic: {
      apiKeyAuthentication: { mode: "Strict", secretRef: { name: "api-keys" }, location: { queryParameter: { name: "key" } } },
      cors: {
        allowCredentials: true,
        allowHeaders: ["x-custom"],
        allowMethods: ["GET", "POST"],
        allowOrigins: ["https://app.example.com"],
        exposeHeaders: ["mcp-session-id"],
        maxAge: 600
      },
      rateLimit: { local: [{ requests: 10, burst: 5, unit: "Minutes" }] }
    }
  }),
  policy("api-key-selector", {
    targetRefs: [gatewayTarget("mcp-gateway")],
    traffic: { apiKeyAuthentication: { mode: "Permissive", secretSelector: { matchLabels: { "agentplane.dev/api-key": "true" } } } }
  }),
  policy("basic-users", {
    targetRefs: [gatewayTarget("mcp-gateway")],
    traffic: { basicAuthentication: { mode: "Optional", realm: "tools", users: ["alice:$apr1$abc$def"] } }
  }),
  policy("basic-secret", {
    targetRefs: [gatewayTarget("mcp-gateway")],
    traffic: { phase: "PostRouting", basicAuthentication: { secretRef: { name: "htpasswd", key: ".htpasswd" } } }
  }),
  policy("mcp-authorization", {
    targetRefs: [gatewayTarget("mcp-gateway")],
    backend: {
      mcp: { authorization: { action: "Deny", policy: { matchExpressions: ['mcp.tool.name == "delete"'] } } },
      auth: { secretRef: { name: "upstream-token", key: "token" }, location: { header: { name: "X-Api-Key" } } }
    }
  }),
  policy("backend-key", { targetRefs: [gatewayTarget("mcp-gateway")], backend: { auth: { key: "literal-key" } } }),
  policy("token-limit", { targetRefs: [gatewayTarget("mcp-gateway")], traffic: { rateLimit: { local: [{ tokens: 1000, unit: "Hours" }] } } }),
  policy("backend-passthrough", { targetRefs: [gatewayTarget("mcp-gateway")], backend: { auth: { passthrough: {} } } })
]

/** Upstream fields agentplane does not implement, each on an otherwise valid policy: the field's path, the policy. */
export const UNSUPPORTED_POLICIES: ReadonlyArray<readonly [string, ReturnType<typeof policy>]> = [
  [
    "spec.traffic.extAuth",
    policy("ext-auth", { targetRefs: [gatewayTarget("mcp-gateway")], traffic: { extAuth: { backendRef: { name: "authz", port: 9000 }, grpc: {} } } })
  ],
  ["spec.backend.auth.aws", policy("aws", { targetRefs: [gatewayTarget("mcp-gateway")], backend: { auth: { aws: { secretRef: { name: "aws" } } } } })],
  [
    "spec.traffic.rateLimit.global",
    policy("global-limit", {
      targetRefs: [gatewayTarget("mcp-gateway")],
      traffic: {
        rateLimit: { global: { backendRef: { name: "ratelimit", port: 8081 }, domain: "d", descriptors: [{ entries: [{ name: "a", expression: "'x'" }] }] } }
      }
    })
  ]
]

/**
 * The AgentgatewayPolicy documents in the repository's manifests (examples), READMEs and golden inputs; with
 * `rejections`, only those of the golden cases that show refusals (`*rejection*` folders) instead.
 */
export const examplePolicies = (root: string, rejections = false): ReadonlyArray<{ readonly source: string; readonly object: any }> => {
  const found: Array<{ source: string; object: any }> = []
  const fromYaml = (source: string, text: string) => {
    for (const document of parseAllDocuments(text)) {
      if (document.errors.length > 0) continue
      const object = document.toJS()
      if (object?.kind === "AgentgatewayPolicy") found.push({ source, object })
    }
  }
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const file = path.join(dir, entry)
      if (statSync(file).isDirectory()) walk(file)
      else if (/\.ya?ml$/.test(entry)) fromYaml(path.relative(root, file), readFileSync(file, "utf8"))
    }
  }
  const cases = path.join(root, "test", "golden", "cases")
  if (rejections) {
    for (const entry of readdirSync(cases).sort())
      if (entry.includes("rejection") && statSync(path.join(cases, entry)).isDirectory()) walk(path.join(cases, entry))
    return found
  }
  // Every folder of manifests/ but the installation's own (examples, scenarios such as secured/).
  for (const entry of readdirSync(path.join(root, "manifests")).sort()) {
    const dir = path.join(root, "manifests", entry)
    if (!["crds", "install", "helm"].includes(entry) && statSync(dir).isDirectory()) walk(dir)
  }
  for (const entry of readdirSync(cases).sort())
    if (!entry.includes("rejection") && statSync(path.join(cases, entry)).isDirectory()) walk(path.join(cases, entry))
  for (const doc of ["README.md", "manifests/README.md"]) {
    const text = readFileSync(path.join(root, doc), "utf8")
    for (const [index, block] of [...text.matchAll(/```ya?ml\n([\s\S]*?)```/g)].entries()) fromYaml(`${doc} (YAML block ${index + 1})`, block[1] ?? "")
  }
  return found
}

/** The unsupported upstream fields `object` sets, as paths (`spec.traffic.extAuth`). */
export const unsupportedFieldsOf = (object: any, unsupported: Readonly<Record<string, ReadonlyArray<string>>>): ReadonlyArray<string> => {
  const found: Array<string> = []
  const visit = (value: any, at: string) => {
    if (value === null || typeof value !== "object") return
    if (Array.isArray(value)) {
      for (const item of value) visit(item, `${at}[]`)
      return
    }
    for (const [key, child] of Object.entries(value)) {
      if (unsupported[at]?.includes(key)) found.push(`${at}.${key}`)
      else visit(child, at === "" ? key : `${at}.${key}`)
    }
  }
  visit(object?.spec, "spec")
  return found
}
