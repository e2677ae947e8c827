-- PostgresStore's table, for teams that run migrations themselves (then pass createTable: false).
-- The same statements PostgresStore runs on first use; PostgresStore.schema("schema.name") prints them for
-- another table name. The comment marks the layout: a Satchel that reads another layout refuses the table.
CREATE TABLE IF NOT EXISTS "satchel_sessions" (
  id text PRIMARY KEY,
  payload text NOT NULL,
  expires_at bigint NOT NULL,
  created_at bigint NOT NULL,
  user_id text,
  version bigint NOT NULL DEFAULT 1
);

CREATE INDEX IF NOT EXISTS "satchel_sessions_expires_at" ON "satchel_sessions" (expires_at);

CREATE INDEX IF NOT EXISTS "satchel_sessions_user_id" ON "satchel_sessions" (user_id) WHERE user_id IS NOT NULL;

COMMENT ON TABLE "satchel_sessions" IS 'satchel:1';
