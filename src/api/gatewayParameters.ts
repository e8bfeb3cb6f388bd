// GatewayParameters (gateway.kgateway.dev/v1alpha1): how the proxies of a
// GatewayClass (or of one Gateway) are run and how they behave.
import { Schema } from "effect"
import { ObjectMeta, StringMap } from "./meta.ts"

export const KGATEWAY_GROUP = "gateway.kgateway.dev"

/** How the proxy multiplexes the MCP targets of a listener; unset fields keep their defaults. */
export const McpSettings = Schema.Struct({
  prefixMode: Schema.optionalKey(
    Schema.Literals(["Always", "Conditional", "Never"]).annotate({
      description:
        "How tool and prompt names carry their target: Always (default) prefixes every name with '<target>_', so names never change when servers come and go; Conditional only when there are several targets; Never (agentgateway 1.4 and later) never."
    })
  ),
  sessionMode: Schema.optionalKey(
    Schema.Literals(["Stateful", "Stateless"]).annotate({
      description: "Stateful (default): the proxy issues MCP sessions; Stateless: every request stands alone."
    })
  ),
  failureMode: Schema.optionalKey(
    Schema.Literals(["FailOpen", "FailClosed"]).annotate({
      description: "FailOpen (default): a failing target is skipped; FailClosed: any failing target fails the session."
    })
  )
}).annotate({ description: "How the proxy multiplexes the MCP servers of a listener. Unset fields keep their defaults." })
export type McpSettings = typeof McpSettings.Type

/**
 * Environment variables agentplane sets itself: they carry the proxy's identity, its xDS channel
 * and its session key, so a parameter must not change them.
 */
export const RESERVED_ENV = ["GATEWAY", "NAMESPACE", "XDS_ADDRESS", "XDS_AUTH_TOKEN", "XDS_ROOT_CA", "SESSION_KEY"] as const

// Patterns below carry the `u` flag: Effect exports only those to JSON Schema, and so to the CRD.

/** A Kubernetes quantity (`100m`, `128Mi`, `2`), as a string or a whole number. */
const Quantity = Schema.Union([
  Schema.String.check(
    Schema.isPattern(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[munkMGTPE])?$/u, {
      message: "must be a Kubernetes quantity such as 100m, 0.5, 128Mi or 2Gi"
    })
  ),
  Schema.Int
])

export const ManagedImage = Schema.Struct({
  repository: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "Default cr.agentgateway.dev/agentgateway." })),
  tag: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "Default: the agentgateway release agentplane is tested with." })),
  pullPolicy: Schema.optionalKey(Schema.Literals(["Always", "IfNotPresent", "Never"]).annotate({ description: "Default IfNotPresent." }))
}).annotate({ description: "The agentgateway image." })

export const ManagedEnvVar = Schema.Struct({
  name: Schema.String.check(
    Schema.isPattern(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/u, { message: "must be an environment variable name (letters, digits, '_', '-', '.')" }),
    Schema.makeFilter((name: string) =>
      (RESERVED_ENV as ReadonlyArray<string>).includes(name)
        ? `${name} is set by agentplane (the proxy's identity, xDS channel and session key); remove it`
        : undefined
    )
  ),
  value: Schema.String
})

export const Toleration = Schema.Struct({
  key: Schema.optionalKey(Schema.String),
  operator: Schema.optionalKey(Schema.Literals(["Exists", "Equal"])),
  value: Schema.optionalKey(Schema.String),
  effect: Schema.optionalKey(Schema.Literals(["NoSchedule", "PreferNoSchedule", "NoExecute"])),
  tolerationSeconds: Schema.optionalKey(Schema.Int)
})
export type Toleration = typeof Toleration.Type

export const ManagedService = Schema.Struct({
  type: Schema.optionalKey(Schema.Literals(["ClusterIP", "NodePort", "LoadBalancer"]).annotate({ description: "Default ClusterIP." })),
  annotations: Schema.optionalKey(StringMap.annotate({ description: "Added to the Service, e.g. for a cloud load balancer." }))
}).annotate({ description: "The Service exposing the Gateway's listener ports." })

export const ManagedTracing = Schema.Struct({
  otlpEndpoint: Schema.NonEmptyString.annotate({ description: "OpenTelemetry collector, e.g. http://otel-collector.observability:4317." }),
  otlpProtocol: Schema.optionalKey(Schema.Literals(["grpc", "http"]).annotate({ description: "Default grpc." }))
}).annotate({ description: "Where the proxy sends its traces (config.tracing of its config file)." })

/** The agentgateway Deployment and Service agentplane runs for a Gateway; unset fields keep their defaults. */
export const AgentgatewaySettings = Schema.Struct({
  image: Schema.optionalKey(ManagedImage),
  replicas: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "Default 1." })),
  resources: Schema.optionalKey(
    Schema.Struct({
      requests: Schema.optionalKey(Schema.Record(Schema.String, Quantity)),
      limits: Schema.optionalKey(Schema.Record(Schema.String, Quantity))
    }).annotate({ description: "Container resources; requests and limits merge one resource name at a time." })
  ),
  logLevel: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_:=,.-]+$/u, { message: "must be a log filter such as info or info,agentgateway=debug" })).annotate({
      description: "The proxy's RUST_LOG filter: error, warn, info (default), debug, trace, or directives."
    })
  ),
  env: Schema.optionalKey(
    Schema.Array(ManagedEnvVar).annotate({
      description: `Extra environment variables; they merge by name and override agentplane's defaults (LOCALITY, RUST_LOG…), except ${RESERVED_ENV.join(", ")}.`
    })
  ),
  nodeSelector: Schema.optionalKey(StringMap),
  tolerations: Schema.optionalKey(Schema.Array(Toleration).annotate({ description: "Replaced as a whole by a later layer." })),
  service: Schema.optionalKey(ManagedService),
  tracing: Schema.optionalKey(ManagedTracing)
}).annotate({ description: "The agentgateway proxy agentplane deploys for each Gateway. Unset fields keep their defaults." })
export type AgentgatewaySettings = typeof AgentgatewaySettings.Type

export const KubeSettings = Schema.Struct({
  agentgateway: Schema.optionalKey(AgentgatewaySettings)
}).annotate({
  description: "agentplane deploys and runs the proxy of each Gateway (ServiceAccount, ConfigMap, Secret, Deployment and Service named after the Gateway)."
})

export const GatewayParametersSpec = Schema.Struct({
  selfManaged: Schema.optionalKey(
    Schema.Struct({}).annotate({
      description: "You run the agentgateway proxy yourself; agentplane only serves its configuration over xDS."
    })
  ),
  kube: Schema.optionalKey(KubeSettings),
  mcp: Schema.optionalKey(McpSettings)
})
  .annotate({
    description:
      "Parameters of the Gateways of a GatewayClass (spec.parametersRef) or of one Gateway (spec.infrastructure.parametersRef); a Gateway's set fields override its class's."
  })
  .check(
    Schema.makeFilter((spec) =>
      spec.selfManaged !== undefined && spec.kube !== undefined ? "selfManaged and kube are mutually exclusive: keep one of them" : undefined
    )
  )

export const GatewayParameters = Schema.Struct({
  apiVersion: Schema.Literal(`${KGATEWAY_GROUP}/v1alpha1`),
  kind: Schema.Literal("GatewayParameters"),
  metadata: ObjectMeta,
  spec: GatewayParametersSpec
})
export type GatewayParameters = typeof GatewayParameters.Type
