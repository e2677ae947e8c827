/**
 * The opaque handle of a session: what `userSessions()` lists and lifecycle
 * events carry instead of the id, which would open the session.
 * @module
 */
import { sha256 } from "../crypto/mod.ts";
import { encodeBase64url } from "../_internal/base64url.ts";

const encoder = new TextEncoder();

/** The opaque handle of a session id: a one-way digest, so it reveals nothing that opens the session. */
export function handleOf(id: string): string {
  return encodeBase64url(sha256(encoder.encode(`satchel/handle/1:${id}`))).slice(0, 22);
}
