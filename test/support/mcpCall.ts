// A small MCP client for trying a gateway by hand (`npm run mcp -- URL [TOOL [KEY=VALUE...]]`):
// without a tool it lists the tools the URL serves, one per line; with one it
// calls it and prints the text of the answer. Streamable HTTP, or SSE when the
// URL's path ends in /sse. Exits 1 when the call fails, 2 on bad arguments.
// MCP_AUTHORIZATION, when set, is sent as the Authorization header (an API key, a bearer token).
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"

const [url, tool, ...pairs] = process.argv.slice(2)
if (url === undefined || !/^https?:\/\//.test(url)) {
  console.error("usage: npm run mcp -- URL [TOOL [KEY=VALUE...]]   e.g. npm run mcp -- http://127.0.0.1:3000/mcp")
  process.exit(2)
}

/** KEY=VALUE arguments; a value that reads as JSON (a number, true, an object) is passed as that. */
const toolArguments = (): Record<string, unknown> => {
  const result: Record<string, unknown> = {}
  for (const pair of pairs) {
    const at = pair.indexOf("=")
    if (at <= 0) {
      console.error(`mcp: argument ${JSON.stringify(pair)} is not KEY=VALUE`)
      process.exit(2)
    }
    const value = pair.slice(at + 1)
    try {
      result[pair.slice(0, at)] = JSON.parse(value)
    } catch {
      result[pair.slice(0, at)] = value
    }
  }
  return result
}

const endpoint = new URL(url)
const authorization = process.env["MCP_AUTHORIZATION"]
const requestInit = authorization === undefined ? {} : { requestInit: { headers: { authorization } } }
const client = new Client({ name: "agentplane-mcp-call", version: "1.0.0" })
try {
  await client.connect(
    endpoint.pathname.endsWith("/sse") ? new SSEClientTransport(endpoint, requestInit) : new StreamableHTTPClientTransport(endpoint, requestInit)
  )
  if (tool === undefined) {
    for (const { name } of (await client.listTools()).tools) console.log(name)
  } else {
    const result = await client.callTool({ name: tool, arguments: toolArguments() })
    const content = (result.content ?? []) as Array<{ type: string; text?: string }>
    console.log(
      content
        .filter((part) => part.type === "text")
        .map((part) => part.text ?? "")
        .join("\n")
    )
    if (result.isError === true) process.exitCode = 1
  }
} catch (error) {
  console.error(`mcp: ${url}: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  await client.close()
}
