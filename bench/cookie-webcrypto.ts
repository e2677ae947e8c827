/**
 * The alternative CookieStore sealing that bench/inprocess.ts measures
 * against the shipped one: AES-256-GCM through Web Crypto under a key
 * derived once (cached), so every get, set and update is awaited. A bench
 * fixture, not a store to use: one data cookie, no splitting, no rotation.
 * @module
 */
import type { Context } from "hono";
import { CookieState } from "../src/state/cookie.ts";
import { decodeBase64url as fromBase64url, encodeBase64url as toBase64url } from "../src/_internal/base64url.ts";
import type { RequestBound, SessionStore, StoredSession, UpdateFn } from "../src/store/types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A CookieStore-shaped store sealing with Web Crypto AES-256-GCM and a cached key. */
export class WebCryptoCookieStore implements RequestBound {
  #key: Promise<CryptoKey>;
  #state = new CookieState({ name: "satchel-data", persistent: true });

  constructor(secret: string) {
    this.#key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      "HKDF",
      false,
      ["deriveKey"],
    ).then((raw) =>
      crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(16),
          info: encoder.encode("bench"),
        },
        raw,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      )
    );
  }

  forRequest(c: Context): SessionStore {
    const key = this.#key, state = this.#state;
    let written: { id: string; session: StoredSession | null } | undefined;
    const fromRequest = async (id: string): Promise<StoredSession | null> => {
      const raw = state.read(c);
      const bytes = raw === undefined ? null : fromBase64url(raw);
      if (bytes === null || bytes.length < 28) return null;
      try {
        const plain = await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: bytes.subarray(0, 12),
            additionalData: encoder.encode(id),
          },
          await key,
          bytes.subarray(12),
        );
        const text = decoder.decode(plain);
        const nl = text.indexOf("\n");
        const [expiresAt, createdAt, userId] = JSON.parse(text.slice(0, nl));
        return { payload: text.slice(nl + 1), expiresAt, createdAt, userId };
      } catch {
        return null;
      }
    };
    const view: SessionStore = {
      get: async (
        id,
      ) => (written !== undefined ? (written.id === id ? written.session : null) : await fromRequest(id)),
      set: async (id, s) => {
        const iv = crypto.getRandomValues(new Uint8Array(12));
        const plain = encoder.encode(
          `${JSON.stringify([s.expiresAt, s.createdAt, s.userId ?? null])}\n${s.payload}`,
        );
        const ct = new Uint8Array(
          await crypto.subtle.encrypt(
            { name: "AES-GCM", iv, additionalData: encoder.encode(id) },
            await key,
            plain,
          ),
        );
        const out = new Uint8Array(12 + ct.length);
        out.set(iv);
        out.set(ct, 12);
        state.write(c, toBase64url(out), 3600);
        written = { id, session: s };
      },
      delete: async (id) => {
        state.clear(c);
        written = { id, session: null };
      },
      update: async (id, fn: UpdateFn) => {
        const next = fn(await view.get(id));
        if (next === null) await view.delete(id);
        else await view.set(id, next);
        return next;
      },
    };
    return view;
  }
}
