// What tests that start `serve` as a process share: flags that let the system
// choose every port, and the URLs it logs once its HTTP listeners are up.

/** Every listener of `serve` on a port the system chooses. */
export const ANY_PORTS = ["--xds-address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0", "--debug-address", "127.0.0.1:0"] as const

/** The URL of the admin or debug listener, from `serve`'s log, once it has said it. */
export const listenerUrl = (log: string, server: "admin" | "debug"): string | undefined =>
  new RegExp(`${server} server listening on (http://[\\d.]+:\\d+)`).exec(log)?.[1]
