/**
 * The token pipeline on its own: what a token gives, and what reaches the
 * store, through a real Hono context and a real MemoryStore.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { Signer } from "../src/crypto/mod.ts";
import { generateId } from "../src/id.ts";
import { jsonSerializer } from "../src/serializer.ts";
import type { InvalidTokenReason } from "../src/session/options.ts";
import { type Loaded, MAX_TOKEN, type TokenConfig, tokenPipeline } from "../src/session/token.ts";
import { HeaderState } from "../src/state/header.ts";
import { MemoryStore } from "../src/store/memory.ts";
import type { SessionStore } from "../src/store/types.ts";
import { FakeClock, SECRET } from "./helpers.ts";
import { SpyStore } from "./security-helpers.ts";

const OLD = "old-secret-old-secret-old-secret-0123456789";
const H = 3600 * 1000;

function setup(more: Partial<TokenConfig> = {}) {
  const clock = new FakeClock();
  const inner = new MemoryStore({ clock: clock.fn });
  const store = new SpyStore(inner);
  const reasons: InvalidTokenReason[] = [];
  const config: TokenConfig = {
    state: new HeaderState(),
    signer: new Signer(SECRET),
    serializer: jsonSerializer,
    policy: { ttl: H, absolute: 8 * H, threshold: H / 2 },
    clock: clock.fn,
    bindValues: undefined,
    onInvalidToken: (_c, r) => void reasons.push(r),
    ...more,
  };
  const tokens = tokenPipeline(config);
  /** What the pipeline gives for a request carrying `token` (and these headers). */
  async function load(token: string | undefined, headers: Record<string, string> = {}, on: SessionStore = store) {
    let loaded: Loaded | undefined;
    const app = new Hono();
    app.get("/", async (c) => {
      loaded = await tokens.load(c, on);
      return c.text("ok");
    });
    await app.request("http://localhost/", {
      headers: token === undefined ? headers : { ...headers, "x-session-id": token },
    });
    return loaded!;
  }
  /** A row under a new id, and its token signed by `signer`. */
  function row(data: Record<string, unknown>, signer = config.signer, createdAt = clock.now, bind?: string) {
    const id = generateId();
    const payload = JSON.stringify(bind === undefined ? { d: data } : { d: data, b: bind });
    inner.set(id, { payload, expiresAt: clock.now + H, createdAt, userId: null });
    return { id, token: signer.sign(id) };
  }
  return { clock, store, inner, reasons, tokens, load, row };
}

test("tokenPipeline().load(): no token is no session, and no store call", async () => {
  const { load, store, reasons } = setup();
  assert.deepEqual(await load(undefined), { kind: "none" });
  assert.deepEqual(store.calls, []);
  assert.deepEqual(reasons, []);
});

test("tokenPipeline().load() refuses junk, oversized and forged tokens before the store, saying why", async () => {
  const { load, store, reasons, row } = setup();
  const { token } = row({ a: 1 });
  const forged = token.slice(0, -2) + (token.endsWith("AA") ? "BA" : "AA");
  for (const bad of ["junk", "x".repeat(MAX_TOKEN + 1), forged]) {
    assert.deepEqual(await load(bad), { kind: "refused", invalid: true });
  }
  assert.deepEqual(store.calls, []);
  assert.deepEqual(reasons, ["malformed", "malformed", "signature"]);
});

test("tokenPipeline().load() opens a live session, and marks one signed with an older secret stale", async () => {
  const { load, row } = setup({ signer: new Signer([SECRET, OLD]) });
  const current = row({ a: 1 });
  const live = await load(current.token);
  assert.equal(live.kind, "live");
  assert.ok(live.kind === "live" && live.id === current.id && !live.stale && live.decoded.data.get("a") === 1);
  const old = row({ a: 2 }, new Signer(OLD));
  const stale = await load(old.token);
  assert.ok(stale.kind === "live" && stale.stale);
});

test("tokenPipeline().load(): an unknown id is gone (not invalid), a corrupt row is invalid", async () => {
  const { load, inner, reasons, row, tokens, clock } = setup();
  assert.deepEqual(await load(tokens.sign(generateId())), { kind: "refused", invalid: false });
  const { id, token } = row({});
  inner.set(id, { payload: "not json", expiresAt: clock.now + H, createdAt: clock.now, userId: null });
  assert.deepEqual(await load(token), { kind: "refused", invalid: true });
  assert.deepEqual(reasons, ["unknown", "corrupt"]);
});

test("tokenPipeline().load() ends a session past its absolute deadline", async () => {
  const { load, inner, reasons, row, clock } = setup();
  const { id, token } = row({ a: 1 }, undefined, clock.now - 8 * 3600 * 1000);
  assert.deepEqual(await load(token), { kind: "refused", invalid: false });
  assert.deepEqual(reasons, ["expired"]);
  assert.equal(inner.get(id), null);
});

test("tokenPipeline().load() with bind: another client ends the session; a tag from an older secret is renewed", async () => {
  const bindValues = (c: { req: { header(n: string): string | undefined } }) => c.req.header("user-agent") ?? "";
  const signer = new Signer([SECRET, OLD]);
  const { load, inner, reasons, row } = setup({ signer, bindValues: bindValues as TokenConfig["bindValues"] });
  const ua = { "user-agent": "Firefox/140" };
  const bound = row({ a: 1 }, signer, undefined, signer.bindTag("Firefox/140"));
  assert.equal((await load(bound.token, ua)).kind, "live");
  assert.deepEqual(await load(bound.token, { "user-agent": "curl/8" }), { kind: "refused", invalid: true });
  assert.equal(inner.get(bound.id), null, "the session is ended");
  assert.deepEqual(reasons, ["binding"]);
  const rotated = row({ a: 1 }, signer, undefined, new Signer(OLD).bindTag("Firefox/140"));
  const live = await load(rotated.token, ua);
  assert.ok(live.kind === "live" && live.rebind === signer.bindTag("Firefox/140"));
});
