// The upstream peers of a scenario: real MCP servers and a real A2A agent,
// each its own process on its own port, so a proxy run has working upstreams
// and the control-plane half can check them directly.
import { join } from "node:path"
import { REPO_ROOT } from "./agentplane.ts"
import { freePort } from "./ports.ts"
import { startProcess, type ManagedProcess } from "./processes.ts"

export interface Peer {
  readonly process: ManagedProcess
  readonly port: number
  /** Where a client reaches the peer directly (not through a gateway). */
  readonly url: string
}

const EVERYTHING = join(REPO_ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")

/**
 * `@modelcontextprotocol/server-everything`: `streamableHttp` serves /mcp,
 * `sse` serves GET /sse + POST /message. Both listen on every interface, which
 * includes the ::1 the proxy may dial for `localhost`.
 */
export const startEverything = async (mode: "streamableHttp" | "sse"): Promise<Peer> => {
  const port = await freePort()
  const managed = await startProcess({
    name: `server-everything ${mode}`,
    command: process.execPath,
    args: [EVERYTHING, mode],
    env: { PORT: String(port) },
    cwd: REPO_ROOT,
    ready: { tcp: port }
  })
  return { process: managed, port, url: `http://127.0.0.1:${port}/${mode === "sse" ? "sse" : "mcp"}` }
}

/** Our MCP server (peers/ownMcpServer.ts): tools `whoami` (answers `name`) and `add`. */
export const startOwnMcpServer = async (name: string): Promise<Peer> => {
  const port = await freePort()
  const managed = await startProcess({
    name: `own MCP server ${name}`,
    command: process.execPath,
    args: ["test/e2e/peers/ownMcpServer.ts"],
    env: { PORT: String(port), NAME: name },
    cwd: REPO_ROOT,
    ready: { tcp: port }
  })
  return { process: managed, port, url: `http://127.0.0.1:${port}/mcp` }
}

/** The sample A2A agent (peers/sampleAgent.ts): replies `echo: <text>`. `url` is its base URL. */
export const startSampleAgent = async (name: string): Promise<Peer> => {
  const port = await freePort()
  const managed = await startProcess({
    name: `sample agent ${name}`,
    command: process.execPath,
    args: ["test/e2e/peers/sampleAgent.ts"],
    env: { PORT: String(port), NAME: name },
    cwd: REPO_ROOT,
    ready: { http: `http://127.0.0.1:${port}/.well-known/agent-card.json` }
  })
  return { process: managed, port, url: `http://127.0.0.1:${port}` }
}
