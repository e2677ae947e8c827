#!/usr/bin/env bash
# Issue 23's table, rerunnable: Satchel RedisStore on Bun (Bun's RedisClient),
# Deno (ioredis) and Node 24 (node-redis) against @hono/session with a
# storage over Bun's RedisClient (GET / SET EX / DEL), all against one
# private redis-server, through bench/http.sh (wrk; /plain signed in, /read,
# /inc, /new over 1,000 sessions; lost updates counted on /inc). Writes the
# table into bench/RESULTS.md between <!-- redis:start --> and <!-- redis:end -->.
#
# Usage: bash bench/redis.sh
#        ROUNDS=2 DURATION=5s bash bench/redis.sh   (best of 2 rounds, the second backwards)
#        NO_WRITE=1 bash bench/redis.sh              (print the table only)
#        BASELINE=/tmp/base bash bench/redis.sh      (also RedisStore on Bun from another checkout,
#                                                     e.g. git worktree add /tmp/base main)
# Needs wrk (apt-get install wrk), redis-server, and the peers (cd bench && npm ci).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/node_modules/.bin:$PATH
command -v redis-server >/dev/null 2>&1 || { echo "bench/redis.sh needs redis-server (apt-get install redis-server)" >&2; exit 2; }
ONLY='RedisStore|\+ Redis|minimum \(Redis\)' NO_WRITE=1 DURATION=${DURATION:-8s} bash bench/http.sh >&2
status=$?
if [ -z "${NO_WRITE:-}" ]; then
  bun bench/chart.ts --redis bench/results/latest/results.tsv || status=1
  deno fmt -q --config deno.json bench/RESULTS.md || status=1
else
  bun bench/chart.ts --redis --print bench/results/latest/results.tsv || status=1
fi
exit $status
