// The directory of Gateway API YAML agentplane serves in a scenario. One
// object per file, so adding or removing a Service during a test is writing
// or deleting one file, the way a user (or a ConfigMap sync) would change it.
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const GATEWAY_CLASS = "mcp"
export const CONTROLLER_NAME = "kgateway.dev/kgateway"

export type ListenerProtocol = "kgateway.dev/mcp" | "kgateway.dev/a2a"
export type ServiceProtocol = "kgateway.dev/mcp" | "kgateway.dev/mcp-sse" | "kgateway.dev/a2a"

export interface GatewaySpec {
  readonly name: string
  readonly namespace: string
  readonly listeners: ReadonlyArray<{ readonly name: string; readonly port: number; readonly protocol: ListenerProtocol }>
}

export interface ServiceSpec {
  readonly name: string
  readonly namespace: string
  /**
   * The Service ports. `port` is the peer's real port: an ExternalName
   * Service sends the proxy to `externalName:port` with no port mapping.
   */
  readonly ports: ReadonlyArray<{ readonly name?: string; readonly port: number; readonly appProtocol: ServiceProtocol }>
  readonly annotations?: Readonly<Record<string, string>>
  /** Where the proxy dials; `localhost` because proxies resolve targets by DNS. */
  readonly externalName?: string
}

// JSON is YAML: no YAML library needed to write the files, and no quoting
// surprises in annotations or names.
const yaml = (object: unknown): string => `${JSON.stringify(object, null, 2)}\n`

export const gatewayClassObject = () => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: GATEWAY_CLASS },
  spec: { controllerName: CONTROLLER_NAME }
})

export const gatewayObject = (gateway: GatewaySpec) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: gateway.name, namespace: gateway.namespace },
  spec: {
    gatewayClassName: GATEWAY_CLASS,
    listeners: gateway.listeners.map((listener) => ({ name: listener.name, port: listener.port, protocol: listener.protocol }))
  }
})

export const serviceObject = (service: ServiceSpec) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: service.name,
    namespace: service.namespace,
    ...(service.annotations === undefined ? {} : { annotations: service.annotations })
  },
  spec: {
    type: "ExternalName",
    externalName: service.externalName ?? "localhost",
    ports: service.ports.map((port) => ({ ...(port.name === undefined ? {} : { name: port.name }), port: port.port, appProtocol: port.appProtocol }))
  }
})

export class ManifestDir {
  readonly path: string

  constructor() {
    this.path = mkdtempSync(join(tmpdir(), "agentplane-e2e-"))
  }

  private write(file: string, object: unknown) {
    // Write aside, then rename: the watcher never reads a half-written file
    // (which agentplane would report as a problem until the write ends).
    // The temporary name does not end in .yaml, so it is never read.
    const temporary = join(this.path, `.${file}.tmp`)
    writeFileSync(temporary, yaml(object))
    renameSync(temporary, join(this.path, file))
  }

  writeGatewayClass(): this {
    this.write("gatewayclass.yaml", gatewayClassObject())
    return this
  }

  writeGateway(gateway: GatewaySpec): this {
    this.write(`gateway-${gateway.namespace}-${gateway.name}.yaml`, gatewayObject(gateway))
    return this
  }

  writeService(service: ServiceSpec): this {
    this.write(serviceFile(service), serviceObject(service))
    return this
  }

  /** Any other object (a policy, a Secret), in a file of its own named after its kind and name. */
  writeObject(object: { readonly kind: string; readonly metadata: { readonly name: string; readonly namespace?: string } }): this {
    this.write(`${object.kind.toLowerCase()}-${object.metadata.namespace ?? "default"}-${object.metadata.name}.yaml`, object)
    return this
  }

  removeService(service: Pick<ServiceSpec, "name" | "namespace">): this {
    unlinkSync(join(this.path, serviceFile(service)))
    return this
  }

  remove() {
    rmSync(this.path, { recursive: true, force: true })
  }
}

const serviceFile = (service: Pick<ServiceSpec, "name" | "namespace">) => `service-${service.namespace}-${service.name}.yaml`
