// `npm run bench`: every benchmark, repeated, printed as a table and written
// to test/bench/results.json and test/bench/results.md.
//   BENCH_QUICK=1   smaller and fewer runs (a smoke test of the benchmarks themselves);
//                   printed only, the published results are left alone
//   BENCH_ONLY=translation,propagation,kube,fanout,idle   a subset; the other families
//                   keep their last figures from this machine (each table says its date)
import { execSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { measureFanout } from "./fanout.ts"
import { measureIdle } from "./idle.ts"
import { kubeModePropagation } from "./kubePropagation.ts"
import { fileModePropagation, type PropagationFigures, WARMUP_CHANGES } from "./propagation.ts"
import { fmt, fmtSpread, spread } from "./stats.ts"
import { measureTranslation } from "./translation.ts"

const quick = process.env["BENCH_QUICK"] === "1"
const only = new Set((process.env["BENCH_ONLY"] ?? "translation,propagation,kube,fanout,idle").split(","))
const repeats = quick ? 1 : 3
const changes = quick ? 40 : 200
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

const machine = () => {
  const model = cpus()[0]?.model ?? "unknown CPU"
  return `${cpus().length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${execSync("uname -sr", { encoding: "utf8" }).trim()}`
}

interface Row {
  readonly benchmark: string
  readonly case: string
  readonly figures: Record<string, string>
}

const rows: Array<Row> = []
const raw: Record<string, unknown> = {}
const record = (benchmark: string, name: string, figures: Record<string, string>, data: unknown) => {
  rows.push({ benchmark, case: name, figures })
  raw[`${benchmark} / ${name}`] = data
  log(
    `${benchmark} / ${name}: ${Object.entries(figures)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`
  )
}

const repeat = async <A>(times: number, run: () => Promise<A> | A): Promise<Array<A>> => {
  const results: Array<A> = []
  for (let i = 0; i < times; i++) results.push(await run())
  return results
}

const propagationFigures = (runs: ReadonlyArray<PropagationFigures>) => ({
  "p50 ms": fmtSpread(spread(runs.map((r) => r.p50))),
  "p99 ms": fmtSpread(spread(runs.map((r) => r.p99))),
  "max ms": fmtSpread(spread(runs.map((r) => r.max))),
  samples: String(runs.reduce((n, r) => n + r.samples, 0)),
  lost: String(runs.reduce((n, r) => n + r.lost, 0))
})

const sizes = (list: ReadonlyArray<number>, gateways: ReadonlyArray<number>) => list.flatMap((services) => gateways.map((g) => ({ services, gateways: g })))

if (only.has("translation")) {
  for (const size of sizes(quick ? [100, 1000] : [100, 1000, 5000, 10000], [10, 100])) {
    const runs = await repeat(quick ? 1 : 5, () => measureTranslation(size))
    record(
      "translation",
      `${size.services} Services / ${size.gateways} Gateways`,
      {
        "full ms": fmtSpread(spread(runs.map((r) => r.fullMs))),
        "heap MB": fmtSpread(spread(runs.map((r) => r.heapMB))),
        "first change ms": fmtSpread(spread(runs.map((r) => r.firstChangeMs))),
        "later changes p50 ms": fmtSpread(spread(runs.map((r) => r.changeMs))),
        "versions changed (most)": String(Math.max(...runs.map((r) => r.changedVersions))),
        "gateways changed (most)": String(Math.max(...runs.map((r) => r.changedGateways)))
      },
      runs
    )
  }
}

if (only.has("propagation")) {
  const cases = [
    ...sizes(quick ? [1000] : [1000, 10000], [100]).flatMap((size) => [1, 100].map((clients) => ({ size, clients, rate: undefined as number | undefined }))),
    { size: { services: quick ? 1000 : 10000, gateways: 100 }, clients: 100, rate: 20 }
  ]
  for (const { size, clients, rate } of cases) {
    const runs = await repeat(repeats, () => fileModePropagation(size, clients, changes, rate, log))
    record(
      "propagation (file edit)",
      `${size.services} Services / ${size.gateways} Gateways, ${clients} client(s)${rate === undefined ? "" : `, churn ${rate}/s`}`,
      propagationFigures(runs),
      runs
    )
  }
}

if (only.has("kube")) {
  for (const services of quick ? [1000] : [1000, 10000]) {
    const size = { services, gateways: 100 }
    const results = await kubeModePropagation(size, [1, 100], changes, repeats, log)
    for (const runs of results) {
      const pair = (pick: (run: (typeof runs)[number]) => PropagationFigures) =>
        `${fmtSpread(spread(runs.map((run) => pick(run).p50)))} / ${fmtSpread(spread(runs.map((run) => pick(run).p99)))}`
      record(
        "propagation (API write)",
        `${services} Services / 100 Gateways, ${runs[0]!.clients} client(s)`,
        {
          ...propagationFigures(runs.map((run) => run.figures)),
          "write answered p50 / p99 ms": pair((run) => run.apiReturned),
          "plain watch p50 / p99 ms": pair((run) => run.apiWatch),
          "agentplane's share p50 / p99 ms": pair((run) => run.agentplaneShare)
        },
        runs
      )
    }
  }
}

if (only.has("fanout")) {
  for (const streams of [100, 1000]) {
    const size = { services: 1000, gateways: 100 }
    const runs = await repeat(repeats, () => measureFanout(size, streams))
    record(
      "fan-out",
      `${streams} streams (1000 Services / 100 Gateways)`,
      {
        "all served ms": fmtSpread(spread(runs.map((r) => r.allReadyMs)), 0),
        "RSS per stream KB": fmtSpread(spread(runs.map((r) => r.rssPerStreamKB)), 0)
      },
      runs
    )
  }
}

if (only.has("idle")) {
  const size = { services: quick ? 1000 : 10000, gateways: 100 }
  const seconds = quick ? 10 : 60
  const result = await measureIdle(size, 100, seconds)
  record(
    "idle",
    `${size.services} Services, 100 clients, ${seconds} s`,
    {
      "CPU %": fmt(result.cpuPercent, 2),
      "RSS MB": fmt(result.rssMB, 0)
    },
    result
  )
}

const date = new Date().toISOString().slice(0, 10)
const RESULTS_JSON = "test/bench/results.json"

interface Family {
  readonly date: string
  readonly rows: ReadonlyArray<{ readonly case: string; readonly figures: Record<string, string> }>
  readonly raw: Record<string, unknown>
}

// A subset run (BENCH_ONLY) replaces only its own families: the others are kept from the last
// full-size run on this machine, each with the date it was measured.
const kept = (): Record<string, Family> => {
  try {
    const previous = JSON.parse(readFileSync(RESULTS_JSON, "utf8"))
    return previous.machine === machine() && typeof previous.families === "object" ? previous.families : {}
  } catch {
    return {}
  }
}
const families: Record<string, Family> = quick ? {} : { ...kept() }
for (const family of new Set(rows.map((r) => r.benchmark))) {
  const mine = rows.filter((r) => r.benchmark === family)
  families[family] = {
    date,
    rows: mine.map((r) => ({ case: r.case, figures: r.figures })),
    raw: Object.fromEntries(mine.map((r) => [r.case, raw[`${family} / ${r.case}`]]))
  }
}
// One table per benchmark, each with its own columns, in the order they run.
const ORDER = ["translation", "propagation (file edit)", "propagation (API write)", "fan-out", "idle"]
const names = Object.keys(families).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))
const dates = new Set(names.map((name) => families[name]!.date))
const tables = names.map((name) => {
  const family = families[name]!
  const headers = [...new Set(family.rows.flatMap((r) => Object.keys(r.figures)))]
  return [
    dates.size > 1 ? `**${name}** (${family.date})` : `**${name}**`,
    "",
    `| case | ${headers.join(" | ")} |`,
    `|---|${headers.map(() => "---").join("|")}|`,
    ...family.rows.map((r) => `| ${r.case} | ${headers.map((h) => r.figures[h] ?? "").join(" | ")} |`)
  ].join("\n")
})
const table = [
  `Measured ${[...dates].sort().join(" and ")} on ${machine()}${quick ? " (quick run)" : ""}; median (min–max) over ${repeats} run(s) (translation: ${quick ? 1 : 5}); propagation runs make ${changes} counted changes each, after ${WARMUP_CHANGES} uncounted warm-up changes.`,
  "",
  ...tables.flatMap((t) => [t, ""])
].join("\n")
console.log(table)
if (quick) {
  log("quick run: the published results (test/bench/results.{md,json}) are left as they are")
} else {
  writeFileSync("test/bench/results.md", `${table}\n`)
  writeFileSync(RESULTS_JSON, `${JSON.stringify({ machine: machine(), families }, null, 2)}\n`)
}
process.exit(0)
