// How agentplane logs: logfmt on a terminal, JSON lines otherwise, unless
// `--log-format` (or AGENTPLANE_LOG_FORMAT, for a Deployment) says which.
// Always on stderr: stdout carries command output.
import { Config, Effect, type Layer, Logger, Option } from "effect"
import { Flag, GlobalFlag } from "effect/cli"
import { usageError } from "./usage.ts"

export const LOG_FORMATS = ["text", "json"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export const LOG_FORMAT_ENV = "AGENTPLANE_LOG_FORMAT"

export const LogFormatSetting = GlobalFlag.Setting("log-format")({
  flag: Flag.Literals("log-format", LOG_FORMATS).pipe(
    Flag.withDescription(`Log format: text (logfmt) or json (default: $${LOG_FORMAT_ENV}, else text on a terminal and json otherwise)`),
    Flag.optional
  )
})

export const defaultLogFormat = (): LogFormat => (process.stderr.isTTY ? "text" : "json")

export const loggerLayer = (format: LogFormat): Layer.Layer<never> =>
  Logger.layer([Logger.withConsoleError(format === "json" ? Logger.formatJson : Logger.formatLogFmt)])

const fromEnvironment = Config.option(Config.String(LOG_FORMAT_ENV))

/**
 * Runs a command's handler with the logger its `--log-format` asks for; a bad
 * AGENTPLANE_LOG_FORMAT is a usage error, like a bad flag.
 */
export const withLogFormat = <A, E, R>(handler: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const flag = yield* LogFormatSetting
    const environment = Option.getOrUndefined(yield* fromEnvironment.pipe(Effect.orElseSucceed(() => Option.none<string>())))
    if (Option.isNone(flag) && environment !== undefined && !(LOG_FORMATS as ReadonlyArray<string>).includes(environment)) {
      return yield* usageError(`${LOG_FORMAT_ENV}=${JSON.stringify(environment)} is not a log format; set it to text or json`)
    }
    const format = Option.getOrElse(flag, () => (environment as LogFormat | undefined) ?? defaultLogFormat())
    return yield* handler.pipe(Effect.provide(loggerLayer(format)))
  })
