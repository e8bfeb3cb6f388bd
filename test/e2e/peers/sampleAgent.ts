// A sample A2A agent: answers every message with `echo: <text>`. Run as a
// child process: `PORT=… NAME=… node test/e2e/peers/sampleAgent.ts`.
//
// It speaks A2A 1.0 and 0.3 (JSON-RPC, at its own address). Its card comes
// in two shapes, chosen by the `A2A-Version` request header:
// - absent or 0.3: a plain v0.3 card whose top-level `url` is the agent's
//   address. Every agentgateway release rewrites that field. (The SDK's own
//   v0.3 card also embeds the 1.0 `supportedInterfaces`; agentgateway
//   releases that know 1.0 cards then rewrite only those and leave `url`
//   alone, so a check of `url` would depend on the proxy version.)
// - 1.0: the SDK's card with `supportedInterfaces`, which only agentgateway
//   releases that know A2A 1.0 cards rewrite.
import { createRequire } from "node:module"
import type { Server } from "node:http"
import { randomUUID } from "node:crypto"
import { Role, type AgentCard } from "@a2a-js/sdk"
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor, type ExecutionEventBus, type RequestContext } from "@a2a-js/sdk/server"
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express"

/** The part of express we use; express ships no type declarations and @types/express is not installed. */
interface ExpressRequest {
  header(name: string): string | undefined
}
interface ExpressResponse {
  setHeader(name: string, value: string): void
  json(body: unknown): void
}
type Middleware = (request: ExpressRequest, response: ExpressResponse, next: () => void) => void
interface ExpressApp {
  use(path: string, ...handlers: ReadonlyArray<unknown>): void
  listen(port: number, callback: () => void): Server
}
const express = createRequire(import.meta.url)("express") as () => ExpressApp

const port = Number(process.env["PORT"])
const name = process.env["NAME"] ?? ""
if (!Number.isInteger(port) || port <= 0 || name === "") {
  console.error("usage: PORT=<port> NAME=<agent name> node test/e2e/peers/sampleAgent.ts")
  process.exit(2)
}

/** The agent's own address, as a card normally carries it; the gateway is expected to rewrite it. */
const ownUrl = `http://localhost:${port}/`

const card: AgentCard = {
  name,
  description: "Replies to every message with `echo: <text>`.",
  supportedInterfaces: [
    { url: ownUrl, protocolBinding: "JSONRPC", protocolVersion: "1.0", tenant: "" },
    { url: ownUrl, protocolBinding: "JSONRPC", protocolVersion: "0.3", tenant: "" }
  ],
  provider: undefined,
  version: "1.0.0",
  capabilities: { streaming: false, pushNotifications: false, extensions: [] },
  securitySchemes: {},
  securityRequirements: [],
  defaultInputModes: ["text/plain"],
  defaultOutputModes: ["text/plain"],
  skills: [
    {
      id: "echo",
      name: "echo",
      description: "Echoes the text it receives.",
      tags: ["test"],
      examples: ["hello"],
      inputModes: ["text/plain"],
      outputModes: ["text/plain"],
      securityRequirements: []
    }
  ],
  signatures: []
}

/** The v0.3 card: the 1.0 card's fields in the 0.3 shape, one `url`, nothing from 1.0. */
const legacyCard = {
  name: card.name,
  description: card.description,
  version: card.version,
  url: ownUrl,
  preferredTransport: "JSONRPC",
  protocolVersion: "0.3",
  capabilities: { streaming: false, pushNotifications: false },
  defaultInputModes: card.defaultInputModes,
  defaultOutputModes: card.defaultOutputModes,
  skills: card.skills.map(({ securityRequirements: _, ...skill }) => skill)
}

const legacyCardHandler: Middleware = (request, response, next) => {
  const version = request.header("A2A-Version") ?? "0.3"
  if (!version.startsWith("0.")) return next()
  response.setHeader("Vary", "A2A-Version")
  response.json(legacyCard)
}

const textOf = (context: RequestContext): string => context.userMessage.parts.map((part) => (part.content?.$case === "text" ? part.content.value : "")).join("")

const executor: AgentExecutor = {
  execute: async (context: RequestContext, bus: ExecutionEventBus) => {
    const text = textOf(context)
    console.log(`message: ${JSON.stringify(text)}`)
    bus.publish(
      AgentEvent.message({
        messageId: randomUUID(),
        contextId: context.contextId,
        taskId: "",
        role: Role.ROLE_AGENT,
        parts: [{ content: { $case: "text", value: `echo: ${text}` }, metadata: undefined, filename: "", mediaType: "text/plain" }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: []
      })
    )
    bus.finished()
  },
  cancelTask: async () => {}
}

const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor)
const app = express()
// No caching: scenarios compare the card fetched directly and through the gateway.
app.use("/.well-known/agent-card.json", legacyCardHandler, agentCardHandler({ agentCardProvider: handler, cache: { maxAge: 0 } }))
app.use("/", jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } }))

// No host: dual-stack, because the proxy may resolve `localhost` to ::1.
const server = app.listen(port, () => console.log(`sample agent "${name}" listening on ${port}`))
server.on("error", (error) => {
  console.error(`cannot listen on ${port}:`, error)
  process.exit(1)
})
process.on("SIGTERM", () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
