// Synthetic worlds for the benchmarks: G Gateways, each in its own namespace
// with one MCP listener admitting that namespace, and S MCP Services spread
// evenly over those namespaces.
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "yaml"

export interface WorldSize {
  readonly services: number
  readonly gateways: number
}

export const namespaceOf = (index: number, size: WorldSize) => `ns-${index % size.gateways}`

export const gatewayClass = () => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: "mcp" },
  spec: { controllerName: "kgateway.dev/kgateway" }
})

export const gateway = (g: number) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "gw", namespace: `ns-${g}` },
  spec: { gatewayClassName: "mcp", listeners: [{ name: "mcp", port: 8080, protocol: "kgateway.dev/mcp" }] }
})

/** `variant` changes the Service's content (its port), as an edit would. */
export const service = (index: number, size: WorldSize, variant = 0) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: `svc-${index}`, namespace: namespaceOf(index, size) },
  spec: { ports: [{ name: "mcp", port: 8000 + (variant % 1000), appProtocol: "kgateway.dev/mcp" }] }
})

export const objects = (size: WorldSize): Array<unknown> => [
  gatewayClass(),
  ...Array.from({ length: size.gateways }, (_, g) => gateway(g)),
  ...Array.from({ length: size.services }, (_, s) => service(s, size))
]

const yamlOf = (items: ReadonlyArray<unknown>) => items.map((item) => stringify(item)).join("---\n")

/** One file per namespace (its Gateway and Services), plus the class: what a GitOps tree looks like. */
export const fileOf = (dir: string, g: number) => join(dir, `ns-${g}.yaml`)

export const namespaceFileText = (g: number, size: WorldSize, variants: ReadonlyMap<number, number>) => {
  const services = []
  for (let s = g; s < size.services; s += size.gateways) services.push(service(s, size, variants.get(s) ?? 0))
  return yamlOf([gateway(g), ...services])
}

export const writeNamespaceFile = (dir: string, g: number, size: WorldSize, variants: ReadonlyMap<number, number>) =>
  writeFileSync(fileOf(dir, g), namespaceFileText(g, size, variants))

export const writeWorld = (dir: string, size: WorldSize) => {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "class.yaml"), yamlOf([gatewayClass()]))
  for (let g = 0; g < size.gateways; g++) writeNamespaceFile(dir, g, size, new Map())
}
