// MCP clients as an agent would use them, through the official SDK: one
// session per helper call, so every call sees the server (or gateway) as a
// newly connecting client would — what "tools appear without a restart"
// means for a user.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"

export type McpTransport = "streamable" | "sse"

/** Runs `use` with a connected client and always closes the session; `headers` go with every request (e.g. a bearer token). */
export const withMcpClient = async <A>(
  url: string,
  transport: McpTransport,
  use: (client: Client) => Promise<A>,
  headers?: Readonly<Record<string, string>>
): Promise<A> => {
  const client = new Client({ name: "agentplane-e2e", version: "1.0.0" })
  const endpoint = new URL(url)
  const requestInit = headers === undefined ? undefined : { requestInit: { headers: { ...headers } } }
  await client.connect(transport === "sse" ? new SSEClientTransport(endpoint, requestInit) : new StreamableHTTPClientTransport(endpoint, requestInit))
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

export const toolNames = async (client: Client): Promise<Array<string>> => (await client.listTools()).tools.map((tool) => tool.name).sort()

/** The text of a tool's answer; fails when the tool reports an error. */
export const callText = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> => {
  const result = await client.callTool({ name, arguments: args })
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>
  const text = content
    .filter((part) => part.type === "text")
    .map((part) => part.text ?? "")
    .join("")
  if (result.isError === true) throw new Error(`tool ${name} failed: ${text}`)
  return text
}
