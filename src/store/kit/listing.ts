/**
 * Listing a user's sessions, one way for every store: the order is decided
 * here (oldest first), and stores that keep an index of a user's sessions
 * read it in batches here.
 * @module
 */
import type { StoredSession, UserSessionEntry } from "../types.ts";

/** How many reads or deletes a store runs at once when it walks a user's index. */
export const INDEX_BATCH = 100;

/** The order of `listByUser`: oldest first (by `createdAt`, then by id). Sorts `entries` in place and returns it. */
export function oldestFirst(entries: UserSessionEntry[]): UserSessionEntry[] {
  return entries.sort((a, b) => a.session.createdAt - b.session.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Run `op` on every id, {@linkcode INDEX_BATCH} at a time.
 * @returns The ids for which `op` answered true.
 */
export async function eachInBatches(ids: readonly string[], op: (id: string) => Promise<boolean>): Promise<string[]> {
  const done: string[] = [];
  for (let i = 0; i < ids.length; i += INDEX_BATCH) {
    const batch = ids.slice(i, i + INDEX_BATCH);
    const results = await Promise.all(batch.map(op));
    results.forEach((ok, j) => ok && done.push(batch[j]!));
  }
  return done;
}

/**
 * The live sessions of `userId` among `ids` (a user index, which may name
 * sessions that ended or moved to another user), oldest first.
 * @param read The live session of an id, or null.
 */
export async function listIndexed(
  userId: string,
  ids: readonly string[],
  read: (id: string) => Promise<StoredSession | null>,
): Promise<UserSessionEntry[]> {
  const out: UserSessionEntry[] = [];
  await eachInBatches(ids, async (id) => {
    const session = await read(id);
    if (session !== null && session.userId === userId) out.push({ id, session });
    return true;
  });
  return oldestFirst(out);
}
