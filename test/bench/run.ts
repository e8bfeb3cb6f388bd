// `npm run bench`: every benchmark, repeated, printed as a table and written
// to test/bench/results.json and test/bench/results.md.
//   BENCH_QUICK=1   smaller and fewer runs (a smoke test of the benchmarks themselves)
//   BENCH_ONLY=translation,propagation,kube,fanout,idle   a subset
import { execSync } from "node:child_process"
import { writeFileSync } from "node:fs"
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
  return `${cpus().length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${
    execSync("uname -sr", { encoding: "utf8" }).trim()
  }`
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
  log(`${benchmark} / ${name}: ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(", ")}`)
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

const sizes = (list: ReadonlyArray<number>, gateways: ReadonlyArray<number>) =>
  list.flatMap((services) => gateways.map((g) => ({ services, gateways: g })))

if (only.has("translation")) {
  for (const size of sizes(quick ? [100, 1000] : [100, 1000, 5000, 10000], [10, 100])) {
    const runs = await repeat(quick ? 1 : 5, () => measureTranslation(size))
    record("translation", `${size.services} Services / ${size.gateways} Gateways`, {
      "full ms": fmtSpread(spread(runs.map((r) => r.fullMs))),
      "heap MB": fmtSpread(spread(runs.map((r) => r.heapMB))),
      "1 change ms": fmtSpread(spread(runs.map((r) => r.incrementalMs))),
      "versions changed": String(runs[0]!.changedVersions),
      "gateways changed": String(runs[0]!.changedGateways)
    }, runs)
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
      record("propagation (API write)", `${services} Services / 100 Gateways, ${runs[0]!.clients} client(s)`, {
        ...propagationFigures(runs.map((run) => run.figures)),
        "write answered p50 / p99 ms": pair((run) => run.apiReturned),
        "plain watch p50 / p99 ms": pair((run) => run.apiWatch),
        "agentplane's share p50 / p99 ms": pair((run) => run.agentplaneShare)
      }, runs)
    }
  }
}

if (only.has("fanout")) {
  for (const streams of [100, 1000]) {
    const size = { services: 1000, gateways: 100 }
    const runs = await repeat(repeats, () => measureFanout(size, streams))
    record("fan-out", `${streams} streams (1000 Services / 100 Gateways)`, {
      "all served ms": fmtSpread(spread(runs.map((r) => r.allReadyMs)), 0),
      "RSS per stream KB": fmtSpread(spread(runs.map((r) => r.rssPerStreamKB)), 0)
    }, runs)
  }
}

if (only.has("idle")) {
  const size = { services: quick ? 1000 : 10000, gateways: 100 }
  const seconds = quick ? 10 : 60
  const result = await measureIdle(size, 100, seconds)
  record("idle", `${size.services} Services, 100 clients, ${seconds} s`, {
    "CPU %": fmt(result.cpuPercent, 2),
    "RSS MB": fmt(result.rssMB, 0)
  }, result)
}

const date = new Date().toISOString().slice(0, 10)
// One table per benchmark, each with its own columns.
const families = [...new Set(rows.map((r) => r.benchmark))]
const tables = families.map((family) => {
  const mine = rows.filter((r) => r.benchmark === family)
  const headers = [...new Set(mine.flatMap((r) => Object.keys(r.figures)))]
  return [
    `**${family}**`,
    "",
    `| case | ${headers.join(" | ")} |`,
    `|---|${headers.map(() => "---").join("|")}|`,
    ...mine.map((r) => `| ${r.case} | ${headers.map((h) => r.figures[h] ?? "").join(" | ")} |`)
  ].join("\n")
})
const table = [
  `Measured ${date} on ${machine()}${quick ? " (quick run)" : ""}; median (min–max) over ${repeats} run(s) (translation: ${quick ? 1 : 5}); propagation runs make ${changes} counted changes each, after ${WARMUP_CHANGES} uncounted warm-up changes.`,
  "",
  ...tables.flatMap((t) => [t, ""])
].join("\n")
console.log(table)
writeFileSync("test/bench/results.md", table + "\n")
writeFileSync("test/bench/results.json", JSON.stringify({ date, machine: machine(), quick, results: raw }, null, 2) + "\n")
process.exit(0)
