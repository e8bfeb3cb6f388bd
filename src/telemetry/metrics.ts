// Counters and histograms for Prometheus. A small registry of our own keeps
// the exposition exact and dependency-free.
import { Context, Effect, Layer } from "effect"

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

type Labels = Readonly<Record<string, string>>

const labelText = (labels: Labels) => {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`
}

class Counter {
  readonly values = new Map<string, number>()
  readonly name: string
  readonly help: string
  constructor(name: string, help: string) {
    this.name = name
    this.help = help
  }
  inc(labels: Labels = {}, by = 1) {
    const key = labelText(labels)
    this.values.set(key, (this.values.get(key) ?? 0) + by)
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    for (const [labels, value] of [...this.values].sort()) lines.push(`${this.name}${labels} ${value}`)
    return lines.join("\n")
  }
}

class Histogram {
  readonly counts = LATENCY_BUCKETS.map(() => 0)
  sum = 0
  count = 0
  readonly name: string
  readonly help: string
  constructor(name: string, help: string) {
    this.name = name
    this.help = help
  }
  observe(seconds: number) {
    LATENCY_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) this.counts[index]! += 1
    })
    this.sum += seconds
    this.count += 1
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    LATENCY_BUCKETS.forEach((bound, index) => lines.push(`${this.name}_bucket{le="${bound}"} ${this.counts[index]}`))
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`)
    return lines.join("\n")
  }
}

export interface Gauge {
  readonly name: string
  readonly help: string
  readonly samples: ReadonlyArray<{ readonly labels: Labels; readonly value: number }>
}

const renderGauge = (gauge: Gauge) =>
  [`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`, ...gauge.samples.map((s) => `${gauge.name}${labelText(s.labels)} ${s.value}`)].join("\n")

export class Metrics extends Context.Service<
  Metrics,
  {
    readonly pushed: (typeUrl: string, trigger: string, resources: number) => Effect.Effect<void>
    readonly pushLatency: (seconds: number) => Effect.Effect<void>
    readonly nacked: (gateway: string, typeUrl: string, resources: number) => Effect.Effect<void>
    readonly translated: Effect.Effect<void>
    /** An xDS stream closed before it was served (bad node, no or wrong token), by gRPC status name. */
    readonly refusedStream: (code: string) => Effect.Effect<void>
    /** A remote JWKS fetch ended, by result. */
    readonly jwksFetched: (result: "success" | "failure") => Effect.Effect<void>
    /** Prometheus text, with gauges read at scrape time. */
    readonly render: (gauges: ReadonlyArray<Gauge>) => Effect.Effect<string>
  }
>()("agentplane/admin/Metrics") {
  static readonly layer = Layer.sync(Metrics, () => {
    const pushes = new Counter("agentplane_xds_pushes_total", "Delta xDS responses sent to proxies.")
    const pushedResources = new Counter("agentplane_xds_pushed_resources_total", "Resources sent to proxies.")
    const nacks = new Counter("agentplane_xds_nacks_total", "Resources refused by proxies (NACK).")
    const translations = new Counter("agentplane_translations_total", "Configurations translated.")
    const refusedStreams = new Counter("agentplane_xds_refused_streams_total", "xDS streams refused before being served, by gRPC status.")
    const jwksFetches = new Counter("agentplane_jwks_fetches_total", "Remote JWKS fetches, by result (success, failure).")
    const latency = new Histogram("agentplane_xds_push_latency_seconds", "Time from a configuration change to its delta being written to a proxy stream.")
    return Metrics.of({
      pushed: (typeUrl, trigger, resources) =>
        Effect.sync(() => {
          pushes.inc({ type_url: typeUrl, trigger })
          pushedResources.inc({ type_url: typeUrl }, resources)
        }),
      pushLatency: (seconds) => Effect.sync(() => latency.observe(seconds)),
      nacked: (gateway, typeUrl, resources) => Effect.sync(() => nacks.inc({ gateway, type_url: typeUrl }, resources)),
      translated: Effect.sync(() => translations.inc()),
      refusedStream: (code) => Effect.sync(() => refusedStreams.inc({ code })),
      jwksFetched: (result) => Effect.sync(() => jwksFetches.inc({ result })),
      render: (gauges) =>
        Effect.sync(
          () =>
            `${[
              ...gauges.map(renderGauge),
              pushes.render(),
              pushedResources.render(),
              nacks.render(),
              translations.render(),
              refusedStreams.render(),
              jwksFetches.render(),
              latency.render()
            ].join("\n")}\n`
        )
    })
  })
}
