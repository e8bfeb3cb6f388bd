// How the command line reports what it cannot do. A usage error (a flag that
// does not parse, a path that does not exist, flags that exclude each other)
// is one line on stderr naming what was wrong and what to do, and exit code 2;
// a runtime failure (a port in use, an unreachable cluster) is one line and
// exit code 1. Help asked for with --help still goes to stdout.
import { Cause, Console, Effect, Exit, type Layer } from "effect"
import { CliError, CliOutput } from "effect/cli"

export const USAGE_EXIT_CODE = 2
export const FAILURE_EXIT_CODE = 1

const helpHint = (commandPath: ReadonlyArray<string>) => `run '${commandPath.join(" ")} --help' for usage`

/** Parse errors as one line, instead of the help text with the errors under it. */
export const usagePresenter: Layer.Layer<never> = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(`${event.commandPath.join(" ")}: ${event.errors.map((error) => error.message).join("; ")}; ${helpHint(event.commandPath)}`)
      : CliOutput.defaultPresenter.present(event)
})

const report = (message: string, code: number) =>
  Console.error(`agentplane: ${message}`).pipe(
    Effect.andThen(
      Effect.sync(() => {
        process.exitCode = code
      })
    )
  )

/** Something the user typed cannot work: say what and how to fix it. */
export const usageError = (message: string) => report(message, USAGE_EXIT_CODE)

/** The command was right but could not be carried out. */
export const runtimeFailure = (message: string) => report(message, FAILURE_EXIT_CODE)

/**
 * The process exit code: SIGTERM/SIGINT (an interrupt) is a clean shutdown;
 * a command line that did not parse is a usage error; any other failure is 1.
 */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return Number(process.exitCode ?? 0)
  const failures = exit.cause.reasons.filter(Cause.isFailReason).map((reason) => reason.error)
  return failures.some(CliError.isCliError) ? USAGE_EXIT_CODE : FAILURE_EXIT_CODE
}
