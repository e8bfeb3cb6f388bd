// agentplane/translate: the pure translator, usable as a library.
export { decodeObject, type DecodeOutcome, type InputObject } from "../api/objects.ts"
export type { Condition } from "./conditions.ts"
export { defaultTranslateOptions, type TranslateOptions } from "./options.ts"
export type { NamedResource } from "./resources.ts"
export type { GatewayStatus, ListenerStatus, ObjectStatus } from "./status.ts"
export { translate, type Translation } from "./translate.ts"
export { emptyWorld, worldFromObjects, type World } from "../world/world.ts"
