// Throwaway credentials for a test API server: a CA, a serving certificate for loopback,
// a service-account signing key pair and a static admin token.
import { execFile } from "node:child_process"
import { generateKeyPairSync, randomBytes } from "node:crypto"
import { mkdir, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { promisify } from "node:util"

export interface Pki {
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  readonly serviceAccountKeyFile: string
  readonly serviceAccountPublicKeyFile: string
  readonly tokenFile: string
  readonly token: string
}

const run = promisify(execFile)

// Node cannot issue X.509 certificates, so the certificates come from the openssl CLI.
async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run("openssl", args, { cwd })
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === "ENOENT") throw new Error("the kube test harness needs the openssl CLI (apt-get install openssl)")
    throw new Error(`openssl ${args.join(" ")} failed: ${e.stderr ?? e.message}`)
  }
}

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

/** Names the serving certificate answers to: loopback, plus the in-cluster names and service IP. */
const servingNames = ["IP:127.0.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc", "IP:10.96.0.1"]

export async function writePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const file = (name: string) => path.join(dir, name)

  await openssl(dir, [
    "req",
    "-x509",
    ...ecKey,
    "-days",
    "3650",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-subj",
    "/CN=agentplane-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign"
  ])
  // `req -x509 -CA` (OpenSSL 3) signs with the CA directly: no CSR or extension file needed.
  await openssl(dir, [
    "req",
    "-x509",
    ...ecKey,
    "-days",
    "365",
    "-keyout",
    "server.key",
    "-out",
    "server.crt",
    "-subj",
    "/CN=kube-apiserver",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-addext",
    `subjectAltName=${servingNames.join(",")}`,
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-addext",
    "keyUsage=critical,digitalSignature",
    "-addext",
    "extendedKeyUsage=serverAuth"
  ])

  const serviceAccount = generateKeyPairSync("ec", {
    namedCurve: "P-256",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" }
  })
  await writeFile(file("sa.key"), serviceAccount.privateKey, { mode: 0o600 })
  await writeFile(file("sa.pub"), serviceAccount.publicKey)

  // --token-auth-file format: token,user,uid,"group1,group2"
  const token = randomBytes(24).toString("hex")
  await writeFile(file("tokens.csv"), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 })

  return {
    caFile: file("ca.crt"),
    certFile: file("server.crt"),
    keyFile: file("server.key"),
    serviceAccountKeyFile: file("sa.key"),
    serviceAccountPublicKeyFile: file("sa.pub"),
    tokenFile: file("tokens.csv"),
    token
  }
}
