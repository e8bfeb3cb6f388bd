// The JWKS fetcher against a real local HTTP server serving keys made with
// jose, on the test clock: refresh at fetchedAt + interval (or the operator's
// maximum), backoff 200 ms doubling to 15 s, the last good keys kept through
// failures and refused documents, requests removed and shared.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { exportJWK, generateKeyPair } from "jose"
import { jwksFromValue } from "../../src/jwks/jwksDocument.ts"
import { JwksFetcher, jwksBackoffMs, loggableUrl } from "../../src/jwks/jwksFetcher.ts"
import { Metrics } from "../../src/telemetry/metrics.ts"
import type { JwksKeySets } from "../../src/world/jwksKeySets.ts"

type Handler = (request: IncomingMessage, response: ServerResponse) => void

/** An identity provider whose answer a test changes; it counts the requests it got. */
const identityProvider = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ server: Server; url: string; hits: () => number; answer: (handler: Handler) => void }>((resolve) => {
        let handler: Handler = (_request, response) => response.writeHead(503).end()
        let hits = 0
        const server = createServer((request, response) => {
          hits += 1
          handler(request, response)
        })
        server.listen(0, "127.0.0.1", () =>
          resolve({
            server,
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
            hits: () => hits,
            answer: (next) => {
              handler = next
            }
          })
        )
      })
  ),
  ({ server }) =>
    Effect.promise(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
    )
)

const json =
  (body: unknown): Handler =>
  (_request, response) =>
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body))
const failing =
  (status: number): Handler =>
  (_request, response) =>
    response.writeHead(status).end("down")

const publicJwk = (kid: string, alg: "RS256" | "ES256" | "ES384" | "EdDSA" = "RS256") =>
  Effect.promise(async () => {
    const { publicKey } = await generateKeyPair(alg, { extractable: true })
    return { ...(await exportJWK(publicKey)), kid, alg }
  })

/** Real time passes (the fetch is real I/O) until the condition holds. */
const until = (condition: () => boolean) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 5_000
    while (!condition()) {
      if (Date.now() > deadline) throw new Error("condition not reached within 5 s")
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })
/** Long enough for a fetch that should not happen to have shown up. */
const quietly = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 60)))

const keySetWhere = (predicate: (sets: JwksKeySets) => boolean) =>
  Effect.gen(function* () {
    const fetcher = yield* JwksFetcher
    const found = yield* fetcher.keySets.pipe(Stream.filter(predicate), Stream.runHead)
    return Option.getOrThrow(found)
  })

const kids = (jwks: string | undefined) => (JSON.parse(jwks ?? '{"keys":[]}') as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid)

const withFetcher = (maxRefreshMs?: number) =>
  Effect.provide(JwksFetcher.layer(maxRefreshMs === undefined ? {} : { maxRefreshMs }).pipe(Layer.provide(Metrics.layer)))

describe("JWKS fetcher", () => {
  it.effect("fetches at once, then at fetchedAt + the interval; a rotated key arrives with the next refresh", () =>
    Effect.gen(function* () {
      const idp = yield* identityProvider
      idp.answer(json({ keys: [yield* publicJwk("one")] }))
      const fetcher = yield* JwksFetcher
      yield* fetcher.track([{ key: "k", url: idp.url, refreshMs: 60_000 }])
      const first = yield* keySetWhere((sets) => sets.get("k")?.jwks !== undefined)
      assert.deepStrictEqual(kids(first.get("k")?.jwks), ["one"])
      assert.strictEqual(first.get("k")?.fetchedAt, "1970-01-01T00:00:00.000Z")
      assert.strictEqual(idp.hits(), 1)

      idp.answer(json({ keys: [yield* publicJwk("two", "ES256")] }))
      yield* TestClock.adjust(59_999)
      yield* quietly
      assert.strictEqual(idp.hits(), 1)
      yield* TestClock.adjust(1)
      const rotated = yield* keySetWhere((sets) => kids(sets.get("k")?.jwks).includes("two"))
      assert.strictEqual(rotated.get("k")?.fetchedAt, "1970-01-01T00:01:00.000Z")
      assert.strictEqual(idp.hits(), 2)
    }).pipe(withFetcher(), Effect.scoped)
  )

  it.effect("--jwks-max-refresh shortens a longer interval", () =>
    Effect.gen(function* () {
      const idp = yield* identityProvider
      idp.answer(json({ keys: [yield* publicJwk("one")] }))
      const fetcher = yield* JwksFetcher
      yield* fetcher.track([{ key: "k", url: idp.url, refreshMs: 300_000 }])
      yield* keySetWhere((sets) => sets.get("k")?.jwks !== undefined)
      yield* TestClock.adjust(4_999)
      yield* quietly
      assert.strictEqual(idp.hits(), 1)
      yield* TestClock.adjust(1)
      yield* until(() => idp.hits() === 2)
    }).pipe(withFetcher(5_000), Effect.scoped)
  )

  it.effect("retries a failure after 200 ms, 400 ms, … capped at 15 s, keeping the last good keys; then recovers, logging each once", () => {
    const logs: Array<string> = []
    return Effect.gen(function* () {
      assert.deepStrictEqual([1, 2, 3, 4, 7, 8, 9, 30].map(jwksBackoffMs), [200, 400, 800, 1600, 12_800, 15_000, 15_000, 15_000])
      const idp = yield* identityProvider
      idp.answer(json({ keys: [yield* publicJwk("good")] }))
      const fetcher = yield* JwksFetcher
      yield* fetcher.track([{ key: "k", url: idp.url, refreshMs: 60_000 }])
      yield* keySetWhere((sets) => sets.get("k")?.jwks !== undefined)

      idp.answer(failing(503))
      yield* TestClock.adjust(60_000)
      const failed = yield* keySetWhere((sets) => sets.get("k")?.error !== undefined)
      assert.strictEqual(failed.get("k")?.error, "the identity provider answered HTTP 503 (expected 200)")
      assert.deepStrictEqual(kids(failed.get("k")?.jwks), ["good"])
      assert.strictEqual(failed.get("k")?.fetchedAt, "1970-01-01T00:00:00.000Z")

      let hits = idp.hits()
      for (const delay of [200, 400, 800, 1600, 3200, 6400, 12_800, 15_000, 15_000]) {
        yield* TestClock.adjust(delay - 1)
        yield* quietly
        assert.strictEqual(idp.hits(), hits, `no retry before ${delay} ms`)
        yield* TestClock.adjust(1)
        yield* until(() => idp.hits() === hits + 1)
        hits += 1
      }
      assert.deepStrictEqual(kids((yield* fetcher.current).get("k")?.jwks), ["good"])

      idp.answer(json({ keys: [yield* publicJwk("back")] }))
      yield* TestClock.adjust(15_000)
      const recovered = yield* keySetWhere((sets) => kids(sets.get("k")?.jwks).includes("back"))
      assert.isUndefined(recovered.get("k")?.error)

      // One line when failing starts and one on recovery, with the URL; never the keys.
      assert.deepStrictEqual(
        logs.filter((line) => line.startsWith("JWKS ")),
        [
          `JWKS ${idp.url}: fetch failed: the identity provider answered HTTP 503 (expected 200); retrying with backoff (200 ms, up to 15 s), still serving the keys fetched at 1970-01-01T00:00:00.000Z`,
          `JWKS ${idp.url}: fetched 1 key(s) again after 10 failed attempt(s)`
        ]
      )
    }).pipe(withFetcher(), Effect.provide(Logger.layer([Logger.make((options) => void logs.push(String(options.message)))])), Effect.scoped)
  })

  it.effect("a key set the proxy would refuse, an oversized body and a timeout are failures that say why", () =>
    Effect.gen(function* () {
      const idp = yield* identityProvider
      idp.answer(json({ keys: [yield* publicJwk("good")] }))
      const fetcher = yield* JwksFetcher
      yield* fetcher.track([{ key: "k", url: idp.url, refreshMs: 60_000 }])
      yield* keySetWhere((sets) => sets.get("k")?.jwks !== undefined)
      // Each step makes the error change; the assertion then names what it is.
      let lastError: string | undefined
      const errorAfter = (ms: number) =>
        Effect.gen(function* () {
          yield* TestClock.adjust(ms)
          const entry = (yield* keySetWhere((sets) => sets.get("k")?.error !== undefined && sets.get("k")?.error !== lastError)).get("k")!
          lastError = entry.error
          return entry
        })

      idp.answer(json({ keys: [{ kty: "oct", kid: "shared", k: "c2VjcmV0" }] }))
      const refused = yield* errorAfter(60_000)
      assert.strictEqual(refused.error, 'key 1 (kid "shared") has key type "oct", which the proxy does not load (supported: RSA, EC P-256/P-384, OKP Ed25519)')
      assert.deepStrictEqual(kids(refused.jwks), ["good"])

      idp.answer(json({ keys: [{ ...(yield* publicJwk("good")), kid: undefined }] }))
      assert.strictEqual((yield* errorAfter(200)).error, 'key 1 has no "kid" (the proxy finds keys by kid, so every key needs one)')

      const oversized = `{"keys":[${" ".repeat(1024 * 1024)}]}`
      idp.answer((_request, response) => response.writeHead(200, { "content-length": Buffer.byteLength(oversized) }).end(oversized))
      assert.strictEqual((yield* errorAfter(400)).error, "the body is 1048587 bytes, more than the 1 MiB a key set may have")
      idp.answer((_request, response) => {
        response.writeHead(200)
        response.write(oversized.slice(0, 600_000))
        response.end(oversized.slice(600_000))
      })
      assert.strictEqual((yield* errorAfter(800)).error, "the body is more than the 1 MiB a key set may have")

      idp.answer(() => {})
      yield* TestClock.adjust(1600)
      yield* until(() => idp.hits() === 6)
      const timedOut = yield* errorAfter(10_000)
      assert.strictEqual(timedOut.error, "no complete answer within 10 s")
      assert.deepStrictEqual(kids(timedOut.jwks), ["good"])
      assert.notInclude(JSON.stringify(timedOut), "c2VjcmV0")
    }).pipe(withFetcher(), Effect.scoped)
  )

  it.effect("a request that disappears stops fetching and drops its entry; requests with one key share a fetch", () =>
    Effect.gen(function* () {
      const idp = yield* identityProvider
      idp.answer(json({ keys: [yield* publicJwk("one")] }))
      const fetcher = yield* JwksFetcher
      yield* fetcher.track([
        { key: "k", url: idp.url, refreshMs: 600_000 },
        { key: "k", url: idp.url, refreshMs: 120_000 }
      ])
      yield* keySetWhere((sets) => sets.get("k")?.jwks !== undefined)
      assert.strictEqual(idp.hits(), 1)
      yield* TestClock.adjust(120_000)
      yield* until(() => idp.hits() === 2)

      yield* fetcher.track([])
      assert.strictEqual((yield* fetcher.current).size, 0)
      yield* TestClock.adjust(600_000)
      yield* quietly
      assert.strictEqual(idp.hits(), 2)
    }).pipe(withFetcher(), Effect.scoped)
  )

  it.effect("seeded keys stand while the provider is down, and schedule the first fetch from their fetchedAt", () =>
    Effect.gen(function* () {
      const idp = yield* identityProvider
      const persisted = jwksFromValue({ keys: [yield* publicJwk("persisted")] })
      assert.strictEqual(persisted._tag, "Valid")
      const fetcher = yield* JwksFetcher
      yield* TestClock.adjust(30_000)
      yield* fetcher.seed(new Map([["k", { jwks: persisted._tag === "Valid" ? persisted.jwks : "", fetchedAt: "1970-01-01T00:00:00.000Z" }]]))
      yield* fetcher.track([{ key: "k", url: idp.url, refreshMs: 60_000 }])
      assert.deepStrictEqual(kids((yield* fetcher.current).get("k")?.jwks), ["persisted"])
      yield* quietly
      assert.strictEqual(idp.hits(), 0)
      yield* TestClock.adjust(30_000)
      const failed = yield* keySetWhere((sets) => sets.get("k")?.error !== undefined)
      assert.deepStrictEqual(kids(failed.get("k")?.jwks), ["persisted"])
    }).pipe(withFetcher(), Effect.scoped)
  )
})

describe("JWKS logs", () => {
  it("name the URL without its user information", () => {
    assert.strictEqual(loggableUrl("http://user:secret@idp.example:8080/keys?x=1"), "http://idp.example:8080/keys?x=1")
    assert.strictEqual(loggableUrl("not a url"), "not a url")
  })
})

describe("JWKS documents", () => {
  it("are canonical: public members only, in sorted order, key order kept", () => {
    const document = jwksFromValue({
      keys: [
        { n: "AQAB", kty: "RSA", e: "AQAB", kid: "b", use: "sig", d: "private", x5c: ["cert"] },
        { y: "eQ", x: "eA", kid: "a", crv: "P-384", kty: "EC", alg: "ES384" },
        { x: "eA", crv: "Ed25519", kty: "OKP", kid: "c" }
      ]
    })
    assert.deepStrictEqual(document, {
      _tag: "Valid",
      keys: 3,
      jwks: '{"keys":[{"e":"AQAB","kid":"b","kty":"RSA","n":"AQAB","use":"sig"},{"alg":"ES384","crv":"P-384","kid":"a","kty":"EC","x":"eA","y":"eQ"},{"crv":"Ed25519","kid":"c","kty":"OKP","x":"eA"}]}'
    })
  })

  it("that the proxy would refuse say which key and why", () => {
    const message = (value: unknown) => {
      const document = jwksFromValue(value)
      return document._tag === "Invalid" ? document.message : "valid"
    }
    assert.strictEqual(message({ keys: [] }), "the key set has no keys")
    assert.strictEqual(message([]), 'the body is not a JWKS: expected {"keys": [ {…}, … ]}')
    assert.strictEqual(
      message({ keys: [{ kty: "EC", crv: "P-521", kid: "e", x: "eA", y: "eQ" }] }),
      'key 1 (kid "e") is an EC key on curve "P-521", which the proxy does not load (EC: P-256, P-384)'
    )
    assert.strictEqual(
      message({ keys: [{ kty: "RSA", kid: "r", n: "AQAB", e: "AQAB", alg: "RSA-OAEP", use: "enc" }] }),
      "valid",
      "the proxy loads encryption keys too"
    )
    assert.strictEqual(
      message({ keys: [{ kty: "RSA", kid: "r", n: "AQ+B", e: "AQAB" }] }),
      'key 1 (kid "r") has no valid "n" (an RSA public key needs it, base64url-encoded)'
    )
    assert.strictEqual(
      message({ keys: [{ kty: "EC", crv: "P-256", kid: "e", x: "eA" }] }),
      'key 1 (kid "e") has no valid "y" (an EC public key needs it, base64url-encoded)'
    )
    assert.strictEqual(
      message({ keys: [{ kty: "OKP", crv: "X25519", kid: "x", x: "eA" }] }),
      'key 1 (kid "x") is an OKP key on curve "X25519", which the proxy does not load (OKP: Ed25519)'
    )
    assert.strictEqual(
      message({ keys: [{ kty: "RSA", kid: "r", e: "AQAB" }] }),
      'key 1 (kid "r") has no valid "n" (an RSA public key needs it, base64url-encoded)'
    )
    assert.strictEqual(message({ keys: [{ kty: "OKP", crv: "Ed25519", x: "eA" }] }), 'key 1 has no "kid" (the proxy finds keys by kid, so every key needs one)')
  })
})
