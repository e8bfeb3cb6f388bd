#!/usr/bin/env -S node --max-semi-space-size=4
// agentplane's command line: `render` prints what would be served, `serve` serves it.
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import { Console, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { stringify } from "yaml"
import type { AdminListenError } from "./admin/server.ts"
import { describeProblem, type SourceError } from "./world/source.ts"
import { addressProblem } from "./cli/address.ts"
import { serveEnvironment } from "./cli/environment.ts"
import { defaultLogFormat, LogFormatSetting, loggerLayer, withLogFormat } from "./cli/logFormat.ts"
import { exitCodeOf, runtimeFailure, usageError, usagePresenter } from "./cli/usage.ts"
import { readStdin, resolveInputs, withStdinText } from "./cli/manifestInputs.ts"
import { emptyContents, readManifests } from "./files/readManifests.ts"
import type { KubeConfigError } from "./kube/kubeApi.ts"
import { kubeServeLayer, serveLayer } from "./main.ts"
import { renderContents } from "./render.ts"
import { parseExternalNames } from "./translate/externalNames.ts"
import { durationMs } from "./translate/policies/duration.ts"
import { defaultTranslateOptions } from "./translate/options.ts"
import { unauthenticatedXdsProblem, unauthenticatedXdsWarning } from "./xds/auth.ts"
import { SnapshotStore } from "./xds/snapshotStore.ts"
import { type XdsListenError, XdsServer } from "./xds/server.ts"
import type { XdsTlsError } from "./xds/tls.ts"

/** Manifests, as kubectl names them: positional paths and -f/--from, repeatable, `-` for standard input. */
const paths = Argument.String("path").pipe(
  Argument.withDescription("A manifest file or a directory of them (read recursively); - reads standard input"),
  Argument.variadic()
)
const from = (description: string) => Flag.String("from").pipe(Flag.withAlias("f"), Flag.withDescription(description), Flag.atLeast(0))

/** The inputs named, with standard input read; a usage error when they cannot be. */
const manifestInputs = (positional: ReadonlyArray<string>, flagged: ReadonlyArray<string>, example: string) =>
  Effect.gen(function* () {
    const resolved = resolveInputs([...positional, ...flagged], example)
    if (resolved._tag === "Problem") return yield* usageError(resolved.message).pipe(Effect.as(undefined))
    if (!resolved.readsStdin) return resolved.inputs
    const text = yield* Effect.promise(() => readStdin())
    if (typeof text !== "string") return yield* usageError(text.tooBig).pipe(Effect.as(undefined))
    return withStdinText(resolved.inputs, text)
  })
const controllerName = Flag.String("controller-name").pipe(
  Flag.withDescription("GatewayClasses with this spec.controllerName are served"),
  Flag.withDefault(defaultTranslateOptions.controllerName)
)
const clusterDomain = Flag.String("cluster-domain").pipe(
  Flag.withDescription("DNS suffix of in-cluster Service names"),
  Flag.withDefault(defaultTranslateOptions.clusterDomain)
)
const externalNames = Flag.String("external-names").pipe(
  Flag.withDescription("Where ExternalName Services may point the proxy: allow (any host), deny (none), or hosts and *.domain patterns separated by commas"),
  Flag.withDefault("allow")
)

/** What is wrong with an --external-names value, as a usage error. */
const externalNamesProblem = (value: string, problem: string) => `--external-names ${JSON.stringify(value)}: ${problem}`

/**
 * Failures a user can act on end with one readable line on stderr, not a stack trace: what went
 * wrong, and what to do about it.
 */
const reportFailure = <A, R>(effect: Effect.Effect<A, SourceError | XdsListenError | XdsTlsError | AdminListenError | KubeConfigError, R>) =>
  effect.pipe(
    Effect.catchTags({
      KubeConfigError: (error) => runtimeFailure(`${error.message}; check --kubeconfig, $KUBECONFIG or the in-cluster service account`),
      SourceError: (error) => runtimeFailure(error.message),
      XdsTlsError: (error) => usageError(`${error.message}; give a readable PEM certificate chain and its private key`),
      XdsListenError: (error) => runtimeFailure(`cannot serve xDS on ${error.address}: ${error.message}; free the port or choose another with --xds-address`),
      AdminListenError: (error) =>
        runtimeFailure(
          `cannot serve the ${error.flag === "debug-address" ? "debug" : "admin"} endpoints on ${error.address}: ${error.message}; ${
            /EADDRINUSE/.test(error.message)
              ? `free the port or choose another with --${error.flag}`
              : `give --${error.flag} an address of this machine, e.g. 127.0.0.1:${error.address.slice(error.address.lastIndexOf(":") + 1)}`
          }`
        )
    }),
    withLogFormat
  )

const render = Command.make(
  "render",
  {
    paths,
    from: from("A manifest file or directory (repeatable; - reads standard input)"),
    controllerName,
    clusterDomain,
    externalNames,
    gateway: Flag.String("gateway").pipe(Flag.withDescription("Only this gateway's resources and status (NAMESPACE/NAME)"), Flag.optional),
    output: Flag.Literals("output", ["json", "yaml"]).pipe(Flag.withAlias("o"), Flag.withDescription("Print as json or yaml"), Flag.withDefault("json"))
  },
  Effect.fn(function* (flags) {
    const policy = parseExternalNames(flags.externalNames)
    if (typeof policy === "string") return yield* usageError(externalNamesProblem(flags.externalNames, policy))
    const inputs = yield* manifestInputs(flags.paths, flags.from, "agentplane render manifests/examples")
    if (inputs === undefined) return
    const { dump, problems, snapshot } = renderContents(yield* readManifests(inputs, emptyContents), {
      controllerName: flags.controllerName,
      clusterDomain: flags.clusterDomain,
      externalNames: policy
    })
    const gateway = Option.getOrUndefined(flags.gateway)
    if (gateway !== undefined && !snapshot.gateways.has(gateway)) {
      const known = [...snapshot.gateways.keys()].sort()
      return yield* usageError(
        `gateway ${gateway} has no configuration; programmed gateways: ${known.length === 0 ? "none" : `${known.join(", ")}; give --gateway one of them`}`
      )
    }
    const printed = dump(gateway)
    yield* Console.log(flags.output === "yaml" ? stringify(printed, { aliasDuplicateObjects: false }).trimEnd() : JSON.stringify(printed, null, 2))
    if (problems.length > 0) {
      for (const problem of problems) yield* Console.error(`agentplane: ${describeProblem(problem)}`)
      process.exitCode = 1
    }
  }, reportFailure)
).pipe(
  Command.withDescription("Print the agentgateway configuration and statuses that manifests produce, as JSON or YAML"),
  Command.withExamples([
    { command: "agentplane render manifests/examples", description: "Everything the examples program, with statuses" },
    { command: "agentplane render -f gateway.yaml -f services/ -o yaml", description: "Several inputs, printed as YAML" },
    { command: "kubectl get gateways,services -A -o yaml | agentplane render -", description: "Objects from standard input" },
    { command: "agentplane render manifests/examples --gateway tools/tools-gateway", description: "One gateway's resources and status" }
  ])
)

const serve = Command.make(
  "serve",
  {
    paths,
    from: from("Serve a manifest file or directory, watched (repeatable; - reads standard input once)"),
    kube: Flag.Boolean("kube").pipe(
      Flag.withDescription("Watch the Kubernetes API and write status (the default in a cluster or with KUBECONFIG set)"),
      Flag.withDefault(false)
    ),
    kubeconfig: Flag.String("kubeconfig").pipe(Flag.withDescription("kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)"), Flag.optional),
    controllerName,
    clusterDomain,
    externalNames,
    agentgateway: Flag.Literals("agentgateway", ["enabled", "disabled"]).pipe(
      Flag.withDescription("Program agentgateway Gateways (disabled: serve nothing and write no status)"),
      Flag.withDefault("enabled")
    ),
    xdsAddress: Flag.String("xds-address").pipe(Flag.withDescription("HOST:PORT for delta xDS"), Flag.withDefault("127.0.0.1:9978")),
    xdsAllowUnauthenticated: Flag.Boolean("xds-allow-unauthenticated").pipe(
      Flag.withDescription("Serving manifests: serve xDS on an --xds-address other than loopback, although file mode authenticates no client"),
      Flag.withDefault(false)
    ),
    xdsTlsCert: Flag.String("xds-tls-cert").pipe(
      Flag.withDescription("Serve xDS over TLS with this certificate chain (PEM; re-read every minute), with --xds-tls-key"),
      Flag.optional
    ),
    xdsTlsKey: Flag.String("xds-tls-key").pipe(Flag.withDescription("Private key (PEM) of --xds-tls-cert"), Flag.optional),
    xdsTlsCa: Flag.String("xds-tls-ca").pipe(
      Flag.withDescription("CA (PEM) that signed --xds-tls-cert, handed to managed proxies (default: they trust the system roots)"),
      Flag.optional
    ),
    xdsServiceAddress: Flag.String("xds-service-address").pipe(
      Flag.withDescription("HOST:PORT at which managed proxies reach this xDS server (default: agentplane.$POD_NAMESPACE.svc and the --xds-address port)"),
      Flag.optional
    ),
    adminAddress: Flag.String("admin-address").pipe(
      Flag.withDescription("HOST:PORT for /healthz, /readyz and /metrics (probes and scrapers)"),
      Flag.withDefault("127.0.0.1:9095")
    ),
    debugAddress: Flag.String("debug-address").pipe(
      Flag.withDescription("HOST:PORT for /debug/config_dump; keep it on loopback (in a cluster: kubectl port-forward)"),
      Flag.withDefault("127.0.0.1:9093")
    ),
    leaderElectionNamespace: Flag.String("leader-election-namespace").pipe(
      Flag.withDescription("Namespace of the leader-election Lease (default: $POD_NAMESPACE, else default)"),
      Flag.optional
    ),
    leaderElectionId: Flag.String("leader-election-id").pipe(Flag.withDescription("Name of the Lease"), Flag.withDefault("agentplane")),
    leaseDuration: Flag.Int("lease-duration").pipe(Flag.withDescription("Seconds a leader holds the Lease without renewing it"), Flag.withDefault(15)),
    jwksMaxRefresh: Flag.String("jwks-max-refresh").pipe(
      Flag.withDescription("Refresh remote JWKS at least this often (e.g. 30s, 5m), whatever a policy's cacheDuration says (default: as cacheDuration says)"),
      Flag.optional
    )
  },
  Effect.fn(function* (flags) {
    const named = [...flags.paths, ...flags.from]
    const fromFiles = named.length > 0
    const { inCluster, podName, podNamespace } = yield* serveEnvironment
    if (fromFiles && flags.kube) return yield* usageError("manifests and --kube exclude each other: serve either files or the cluster")
    if (!fromFiles && !flags.kube && !inCluster) {
      return yield* usageError(
        "nothing to serve: name manifests (a file or directory, e.g. agentplane serve manifests/examples) or give --kube (the Kubernetes API)"
      )
    }
    const badInput =
      addressProblem("xds-address", flags.xdsAddress, "127.0.0.1:9978") ??
      addressProblem("admin-address", flags.adminAddress, "127.0.0.1:9095") ??
      addressProblem("debug-address", flags.debugAddress, "127.0.0.1:9093")
    if (badInput !== undefined) return yield* usageError(badInput)
    const policy = parseExternalNames(flags.externalNames)
    if (typeof policy === "string") return yield* usageError(externalNamesProblem(flags.externalNames, policy))
    const jwksMaxRefresh = Option.getOrUndefined(flags.jwksMaxRefresh)
    const jwksMaxRefreshMs = jwksMaxRefresh === undefined ? undefined : durationMs(jwksMaxRefresh)
    if (jwksMaxRefresh !== undefined && (jwksMaxRefreshMs === undefined || jwksMaxRefreshMs < 1000)) {
      return yield* usageError(
        `--jwks-max-refresh ${JSON.stringify(jwksMaxRefresh)} is not a duration of at least 1s; give e.g. --jwks-max-refresh 30s (units h, m, s, ms: 1m30s)`
      )
    }
    if (!fromFiles && flags.xdsAllowUnauthenticated) {
      return yield* usageError("--xds-allow-unauthenticated is for serving manifests: in a cluster every xDS stream is authenticated")
    }
    const unauthenticated = !fromFiles || flags.xdsAllowUnauthenticated ? undefined : unauthenticatedXdsProblem(flags.xdsAddress)
    if (unauthenticated !== undefined) return yield* usageError(unauthenticated)
    if (flags.xdsAllowUnauthenticated) yield* Effect.logWarning(unauthenticatedXdsWarning(flags.xdsAddress))
    const [certFile, keyFile, caFile] = [flags.xdsTlsCert, flags.xdsTlsKey, flags.xdsTlsCa].map(Option.getOrUndefined)
    if ((certFile === undefined) !== (keyFile === undefined)) return yield* usageError("--xds-tls-cert and --xds-tls-key go together")
    if (caFile !== undefined && certFile === undefined) return yield* usageError("--xds-tls-ca needs --xds-tls-cert and --xds-tls-key")
    const xdsTls = certFile === undefined || keyFile === undefined ? undefined : { certFile, keyFile }
    const options = {
      controllerName: flags.controllerName,
      clusterDomain: flags.clusterDomain,
      externalNames: policy,
      xdsAddress: flags.xdsAddress,
      ...(xdsTls === undefined ? {} : { xdsTls }),
      adminAddress: flags.adminAddress,
      debugAddress: flags.debugAddress,
      agentgateway: flags.agentgateway === "enabled",
      ...(jwksMaxRefreshMs === undefined ? {} : { jwksMaxRefreshMs })
    }
    const program = Effect.gen(function* () {
      const xds = yield* XdsServer
      const store = yield* SnapshotStore
      const published = yield* store.current
      const host = flags.xdsAddress.replace(/:\d+$/, "").replace(/^0\.0\.0\.0$|^\[::\]$/, "127.0.0.1")
      const lines = [...published.snapshot.gateways.keys()].sort().map((gateway) => {
        const [namespace, name] = gateway.split("/")
        return `  ${gateway}:\n    XDS_ADDRESS=${xdsTls === undefined ? "http" : "https"}://${host}:${xds.port} GATEWAY=${name} NAMESPACE=${namespace} LOCALITY=local agentgateway -f agentgateway.yaml`
      })
      yield* Console.log(
        lines.length === 0
          ? "agentplane is serving, but no gateway is programmed yet: add a Gateway of a GatewayClass with controllerName " +
              `${flags.controllerName}${fromFiles ? ` to ${named.join(", ")}` : ""}`
          : `agentplane is serving. Start an agentgateway proxy per gateway (agentgateway.yaml may hold just "config: {}"):\n${lines.join("\n")}`
      )
      return yield* Effect.never
    })
    if (fromFiles) {
      const inputs = yield* manifestInputs(flags.paths, flags.from, "agentplane serve manifests/examples")
      if (inputs === undefined) return
      return yield* program.pipe(Effect.provide(serveLayer({ ...options, inputs })))
    }
    const rootCa =
      caFile === undefined
        ? undefined
        : yield* Effect.try({
            try: () => readFileSync(caFile, "utf8"),
            catch: (error) => (error instanceof Error ? error.message : String(error))
          }).pipe(Effect.catch((message) => usageError(`cannot read --xds-tls-ca ${caFile}: ${message}; give a readable PEM file`).pipe(Effect.as(null))))
    if (rootCa === null) return
    const xdsPort = flags.xdsAddress.slice(flags.xdsAddress.lastIndexOf(":") + 1)
    yield* program.pipe(
      Effect.provide(
        kubeServeLayer({
          ...options,
          managedXds: {
            address: Option.getOrUndefined(flags.xdsServiceAddress) ?? `agentplane.${podNamespace ?? "agentplane-system"}.svc:${xdsPort}`,
            tls: xdsTls !== undefined,
            ...(rootCa === undefined ? {} : { rootCa })
          },
          kubeconfig: Option.getOrUndefined(flags.kubeconfig),
          leaderElection: {
            namespace: Option.getOrUndefined(flags.leaderElectionNamespace) ?? podNamespace ?? "default",
            name: flags.leaderElectionId,
            identity: podName ?? `${hostname()}-${process.pid}`,
            leaseDurationSeconds: flags.leaseDuration
          }
        })
      )
    )
  }, reportFailure)
).pipe(
  Command.withDescription("Serve agentgateway configuration over delta xDS, from manifest files and directories or the Kubernetes API"),
  Command.withExamples([
    { command: "agentplane serve manifests/examples", description: "Serve a directory of manifests, watched, on 127.0.0.1:9978" },
    { command: "agentplane serve -f gateway.yaml -f services/", description: "Serve a file and a directory together" },
    { command: "agentplane serve --kube --xds-address 0.0.0.0:9978", description: "Serve the cluster of $KUBECONFIG, writing status" },
    { command: "agentplane serve manifests/examples --log-format json", description: "JSON log lines even on a terminal" }
  ])
)

const agentplane = Command.make("agentplane").pipe(
  Command.withDescription("Control plane for agentgateway: Gateway API in, delta xDS out"),
  Command.withSubcommands([render, serve]),
  Command.withGlobalFlags([LogFormatSetting]),
  Command.withExamples([
    { command: "agentplane render manifests/examples", description: "What would be served, as JSON" },
    { command: "agentplane serve manifests/examples", description: "Serve it to agentgateway proxies" }
  ])
)

agentplane.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(Layer.mergeAll(NodeServices.layer, loggerLayer(defaultLogFormat()), usagePresenter)),
  (program) => NodeRuntime.runMain(program, { teardown: (exit, onExit) => onExit(exitCodeOf(exit)) })
)
