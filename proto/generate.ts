// Regenerates src/gen/ from our .proto files and Envoy's discovery service
// protos (taken from @grpc/grpc-js-xds, never copied into this repository).
// Usage: node proto/generate.ts [OUT_DIR]   (default: src/gen)
import { spawnSync } from "node:child_process"
import { mkdirSync, rmSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const outDir = resolve(process.argv[2] ?? join(root, "src/gen"))
const modules = join(root, "node_modules")
const xdsDeps = join(modules, "@grpc/grpc-js-xds/deps")

const includes = [
  join(root, "proto"),
  join(modules, "protoc/include"),
  join(xdsDeps, "envoy-api"),
  join(xdsDeps, "xds"),
  join(xdsDeps, "googleapis"),
  join(xdsDeps, "protoc-gen-validate")
]

const options = [
  "esModuleInterop=true",
  "importSuffix=.ts",
  "outputServices=grpc-js",
  "oneof=unions-value",
  "enumsAsLiterals=true",
  "useExactTypes=false",
  "fileSuffix=",
  "comments=false"
].join(",")

const inputs = ["agentgateway/resource.proto", "istio/workload.proto", "envoy/service/discovery/v3/ads.proto"]

rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })

const result = spawnSync(
  join(modules, ".bin/protoc"),
  [
    `--plugin=protoc-gen-ts_proto=${join(modules, ".bin/protoc-gen-ts_proto")}`,
    `--ts_proto_out=${outDir}`,
    `--ts_proto_opt=${options}`,
    ...includes.map((dir) => `--proto_path=${dir}`),
    ...inputs
  ],
  { stdio: "inherit" }
)
if (result.status !== 0) {
  console.error(`protoc failed (exit ${result.status ?? result.signal}); see the messages above`)
  process.exit(1)
}
console.log(`generated protobuf code in ${outDir}`)
