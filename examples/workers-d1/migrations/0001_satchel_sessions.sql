-- Satchel's session table for D1: the statements of D1Store.schema("satchel_sessions")
-- (tests/d1-store.test.ts checks they match). Apply with:
--   wrangler d1 migrations apply satchel-example --local    (or --remote)
CREATE TABLE IF NOT EXISTS satchel_sessions (
  id TEXT PRIMARY KEY NOT NULL,
  payload TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  user_id TEXT,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS satchel_sessions_expires_at ON satchel_sessions (expires_at);
CREATE INDEX IF NOT EXISTS satchel_sessions_user_id ON satchel_sessions (user_id) WHERE user_id IS NOT NULL;
