// An MCP server whose tools the scenarios control, over streamable HTTP at
// /mcp. Run as a child process: `PORT=… NAME=… node test/e2e/peers/ownMcpServer.ts`.
//
// It is deliberately stateless (no Mcp-Session-Id): server-everything is the
// session-ful upstream, so a gateway run covers both kinds of target.
// Plain node:http rather than express: express has no type declarations in
// this project, and the SDK transport takes Node's request and response.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { z } from "zod"

const port = Number(process.env["PORT"])
const name = process.env["NAME"] ?? ""
if (!Number.isInteger(port) || port <= 0 || name === "") {
  console.error("usage: PORT=<port> NAME=<server name> node test/e2e/peers/ownMcpServer.ts")
  process.exit(2)
}

/** `headers` are those of the request being served: the `header` tool reports what the upstream saw. */
const mcpServer = (headers: IncomingMessage["headers"]): McpServer => {
  const mcp = new McpServer({ name, version: "1.0.0" })
  mcp.registerTool("whoami", { description: "The NAME this server was started with: tells which upstream answered." }, () => ({
    content: [{ type: "text", text: name }]
  }))
  mcp.registerTool("add", { description: "a + b", inputSchema: { a: z.number(), b: z.number() } }, ({ a, b }) => ({
    content: [{ type: "text", text: String(a + b) }]
  }))
  mcp.registerTool(
    "header",
    { description: "The value of one request header as this server received it, or (none).", inputSchema: { name: z.string() } },
    ({ name: header }) => {
      const value = headers[header.toLowerCase()]
      return { content: [{ type: "text", text: value === undefined ? "(none)" : Array.isArray(value) ? value.join(", ") : value }] }
    }
  )
  return mcp
}

const readJson = async (request: IncomingMessage): Promise<unknown> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString("utf8"))
}

const reply = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body))
}

const handle = async (request: IncomingMessage, response: ServerResponse) => {
  const path = new URL(request.url ?? "/", "http://peer").pathname
  if (path !== "/mcp") return reply(response, 404, { error: `no route for ${path}` })
  // Without sessions there is no server-initiated stream to open nor session to end.
  if (request.method !== "POST") {
    return reply(response, 405, { jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed." }, id: null }, { allow: "POST" })
  }
  let body: unknown
  try {
    body = await readJson(request)
  } catch {
    return reply(response, 400, { jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null })
  }
  console.log(`POST /mcp ${JSON.stringify((body as { method?: unknown }).method)}`)
  // Stateless: a fresh server and transport per request, as the SDK documents.
  const mcp = mcpServer(request.headers)
  // No sessionIdGenerator: the SDK's stateless mode.
  const transport = new StreamableHTTPServerTransport({})
  response.on("close", () => {
    void transport.close()
    void mcp.close()
  })
  await mcp.connect(transport)
  await transport.handleRequest(request, response, body)
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    console.error("request failed:", error)
    if (!response.headersSent) reply(response, 500, { jsonrpc: "2.0", error: { code: -32603, message: "internal error" }, id: null })
  })
})
server.on("error", (error) => {
  console.error(`cannot listen on ${port}:`, error)
  process.exit(1)
})
// No host: dual-stack, because the proxy may resolve `localhost` to ::1.
server.listen(port, () => console.log(`own MCP server "${name}" listening on ${port}`))
process.on("SIGTERM", () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
