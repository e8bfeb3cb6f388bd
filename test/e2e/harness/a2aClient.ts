// A2A clients through the official SDK, for both protocol versions the sample
// agent speaks: 1.0 (the SDK's native client) and 0.3 (its compat layer,
// which is what a client of a plain v0.3 card with a top-level `url` uses).
import { randomUUID } from "node:crypto"
import { Role, type AgentCard, type Message, type SendMessageRequest, type Task } from "@a2a-js/sdk"
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from "@a2a-js/sdk/client"

/** GET of an agent card; `version` is sent as the `A2A-Version` header (none: what a plain HTTP client sends). */
export const fetchAgentCard = async (cardUrl: string, version?: string): Promise<any> => {
  const response = await fetch(cardUrl, version === undefined ? {} : { headers: { "A2A-Version": version } })
  const body = await response.text()
  if (response.status !== 200) throw new Error(`GET ${cardUrl} answered ${response.status}: ${body}`)
  return JSON.parse(body)
}

const request = (text: string): SendMessageRequest => ({
  tenant: "",
  message: {
    messageId: randomUUID(),
    contextId: "",
    taskId: "",
    role: Role.ROLE_USER,
    parts: [{ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: []
  },
  configuration: undefined,
  metadata: undefined
})

const textOf = (result: Message | Task): string => {
  const message = "parts" in result ? result : result.status?.message
  if (message === undefined) throw new Error(`the agent answered without a message: ${JSON.stringify(result)}`)
  return message.parts.map((part) => (part.content?.$case === "text" ? part.content.value : "")).join("")
}

/** A2A 1.0: fetch the card at `cardUrl` (with `A2A-Version: 1.0`), pick its interface, send `text`. */
export const sendWithCardUrl = async (cardUrl: string, text: string): Promise<string> => {
  // The empty path makes the factory fetch exactly `cardUrl`; its default
  // would resolve a relative well-known path against the URL's parent.
  const client = await new ClientFactory().createFromUrl(cardUrl, "")
  return textOf(await client.sendMessage(request(text)))
}

const legacyResolver = new DefaultAgentCardResolver({ legacyCompat: { enabled: true } })
const legacyFactory = new ClientFactory(
  ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ legacyCompat: { enabled: true } })],
    cardResolver: legacyResolver
  })
)

/** A2A 0.3: send `text` to the card's top-level `url`, as a v0.3 client does. */
export const sendWithLegacyCard = async (legacyCard: unknown, text: string): Promise<string> => {
  const card: AgentCard = legacyResolver.normalizeAgentCard(legacyCard)
  const client = await legacyFactory.createFromAgentCard(card)
  return textOf(await client.sendMessage(request(text)))
}
