#!/usr/bin/env bash
# The PostgresStore benchmark of issue 21, in one run: Satchel's PostgresStore
# on Bun (Bun's SQL), Deno and Node (postgres.js), the hand-written minimum on
# the same driver (bench/pg-minimal.ts: one SELECT per read, one upsert per
# write, no merge), and express-session + connect-pg-simple (pg) on Node, all
# on one private PostgreSQL cluster (scripts/pg-cluster.sh) driven by wrk
# through bench/http.sh. Writes the "PostgresStore" section of bench/RESULTS.md.
#
# Usage: bash bench/postgres.sh     (needs wrk, PostgreSQL, and `cd bench && npm ci`)
#        DURATION=5s bash bench/postgres.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/node_modules/.bin:$PATH
ONLY='PostgresStore|Postgres\)|connect-pg' NO_WRITE=1 bash bench/http.sh
bun bench/chart.ts --postgres bench/results/latest/results.tsv >/dev/null
deno fmt -q --config deno.json bench/RESULTS.md
echo "wrote the PostgresStore section of bench/RESULTS.md"
