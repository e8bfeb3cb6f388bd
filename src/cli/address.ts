// HOST:PORT flags, checked before anything listens, so a typo is a usage error
// that says what the flag wants rather than a resolver's message.
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

/** Undefined when `value` is a usable HOST:PORT, else what is wrong with it and what to give. */
export const addressProblem = (flag: string, value: string, example: string): string | undefined => {
  const match = HOST_PORT.exec(value)
  const port = match === null ? Number.NaN : Number(match[2])
  if (match !== null && port <= 65535) return undefined
  return `--${flag} ${JSON.stringify(value)} is not HOST:PORT with a port from 0 to 65535; give e.g. --${flag} ${example}`
}
