#!/usr/bin/env bash
# HTTP benchmark: Satchel against bare Hono and against its peers, in one run.
#
# Starts each app in turn on a private loopback port, creates $SESSIONS
# sessions through /login (curl), then drives each route with wrk (bench/load.lua
# rotates the session cookies for /read and /inc) and prints one line per
# scenario: requests/s, p50, p99, non-2xx. After /inc it checks that the
# stored counts add up to the /inc requests the server answered with 200
# (zero lost updates). Writes bench/results/<stamp>/results.tsv, then
# bench/chart.ts turns it into bench/chart.svg and the tables of
# bench/RESULTS.md.
#
# Usage: bash bench/http.sh
#        ONLY='Satchel SqliteStore' DURATION=5s bash bench/http.sh   (a subset, no RESULTS.md update)
# Routes: /plain, "signed" (/plain with a valid session cookie), /read, /inc, /new.
# Environment: DURATION (10s), THREADS (2), CONNS (32), SESSIONS (1000),
#   ROUNDS (1: with more, the whole list runs again, backwards in even rounds,
#   and the tables keep each scenario's best round; the lost-update check must
#   pass in every round),
#   ONLY (regex on "app runtime"), NO_WRITE=1 (leave RESULTS.md and chart.svg alone),
#   BASELINE (a checkout to measure beside this one, as "(baseline)" scenarios).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$ROOT/node_modules/.bin:$PATH
export NO_COLOR=1

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
SESSIONS=${SESSIONS:-1000}
ONLY=${ONLY:-}
ROUNDS=${ROUNDS:-1}
WRK=${WRK:-wrk}

for tool in "$WRK" curl bun deno node; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench/http.sh needs $tool (wrk: apt-get install wrk; runtimes: npm install)" >&2; exit 2; }
done
if [ ! -d bench/node_modules/hono-sessions ]; then
  echo "bench/http.sh: the peers are not installed: run (cd bench && npm ci)" >&2
  exit 2
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=bench/results/$STAMP
mkdir -p "$OUT"
TSV=$OUT/results.tsv
TMP=$(mktemp -d "${TMPDIR:-/tmp}/satchel-bench.XXXXXX")
# A free port below Linux's ephemeral range (32768-60999), so no outgoing connection holds it.
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((10000 + RANDOM % 20000))
    if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "bench/http.sh: no free port found" >&2; exit 2
}
PORT=$(free_port)
SERVER_PID=
REDIS_PID_FILE=$TMP/redis.pid

PG_DIR=
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null
  [ -f "$REDIS_PID_FILE" ] && kill "$(cat "$REDIS_PID_FILE")" 2>/dev/null
  [ -n "$PG_DIR" ] && bash scripts/pg-cluster.sh stop "$PG_DIR" && rm -rf "$PG_DIR"
  rm -rf "$TMP"
}
trap cleanup EXIT

# A private redis-server for RedisStore (satchel/redis) and the @hono/session peer's Redis mode.
REDIS_URL=
if command -v redis-server >/dev/null 2>&1; then
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$REDIS_PID_FILE" --logfile "$TMP/redis.log" --dir "$TMP" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
  REDIS_URL=redis://127.0.0.1:$rport
fi

# A private PostgreSQL cluster (scripts/pg-cluster.sh) for PostgresStore and its peers,
# unless ONLY leaves them out; PG_URL=… uses a server of yours instead (its tables are dropped).
PG_URL=${PG_URL:-}
if [ -z "$PG_URL" ] && { [ -z "$ONLY" ] || grep -Eqi 'postgres|pg' <<<"$ONLY"; } && bash scripts/pg-cluster.sh bin >/dev/null 2>&1; then
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/satchel-bench-pg.XXXXXX")
  PG_URL=$(bash scripts/pg-cluster.sh start "$PG_DIR" | head -1) || { echo "bench/http.sh: PostgreSQL did not start" >&2; exit 2; }
fi
# Empties the Postgres tables between scenarios (node + pg: no psql needed).
pg_reset() {
  node -e 'const pg = require("./bench/node_modules/pg"); const c = new pg.Client(process.argv[1]);
    c.connect().then(() => c.query("DROP TABLE IF EXISTS satchel_sessions, session")).then(() => c.end())' "$PG_URL"
}

APP_BUN="bun bench/app.ts"
APP_NODE="node bench/app.ts"
APP_DENO="deno run -A bench/app.ts"
# app | runtime | command | environment | routes
SCENARIOS=(
  "bare Hono|Bun|$APP_BUN|NO_SESSION=1|plain"
  "bare Hono + empty middleware|Bun|$APP_BUN|NO_SESSION=1 EMPTY_MIDDLEWARE=1|plain"
  "Satchel SqliteStore|Bun|$APP_BUN|STORE=sqlite|plain signed read inc new"
  "Satchel SqliteStore, no token cache|Bun|$APP_BUN|STORE=sqlite CACHE=0|read inc"
  "Satchel SqliteStore, no group commit|Bun|$APP_BUN|STORE=sqlite BATCH=0|inc new"
  "Satchel MemoryStore|Bun|$APP_BUN|STORE=memory|plain signed read inc new"
)
# RedisStore (without and with its near cache) and the @hono/session peer on Redis, on each runtime with the client
# bench/app.ts and the peer pick there (Bun's own, ioredis on Deno, node-redis on Node).
[ -n "$REDIS_URL" ] && SCENARIOS+=(
  "Satchel RedisStore|Bun|$APP_BUN|STORE=redis REDIS_URL=$REDIS_URL|plain signed read inc new"
  "Satchel RedisStore + near cache|Bun|$APP_BUN|STORE=redis NEAR_CACHE=1 REDIS_URL=$REDIS_URL|plain signed read inc new"
  "@hono/session + Redis|Bun|bun bench/peers/hono-session.js|STORE=redis REDIS_URL=$REDIS_URL|plain signed read inc new"
  "hand-written minimum (Redis)|Bun|$APP_BUN|STORE=redis-min REDIS_URL=$REDIS_URL|read inc new"
  "Satchel RedisStore|Node|node bench/app.ts|STORE=redis REDIS_URL=$REDIS_URL|plain signed read inc new"
  "Satchel RedisStore + near cache|Node|node bench/app.ts|STORE=redis NEAR_CACHE=1 REDIS_URL=$REDIS_URL|plain signed read inc new"
  "@hono/session + Redis|Node|node bench/peers/hono-session.js|STORE=redis REDIS_URL=$REDIS_URL|plain signed read inc new"
)
SCENARIOS+=(
  "@hono/session|Bun|bun bench/peers/hono-session.js||plain signed read inc new"
  "hono-sessions|Bun|bun bench/peers/hono-sessions.js||plain signed read inc new"
  "express-session|Node|node bench/peers/express-session.js||plain signed read inc new"
  "bare Hono|Deno|$APP_DENO|NO_SESSION=1|plain"
  "bare Hono + empty middleware|Deno|$APP_DENO|NO_SESSION=1 EMPTY_MIDDLEWARE=1|plain"
  "Satchel SqliteStore|Deno|$APP_DENO|STORE=sqlite|plain signed read inc new"
  "Satchel MemoryStore|Deno|$APP_DENO|STORE=memory|plain signed read inc new"
)
[ -n "$REDIS_URL" ] && SCENARIOS+=(
  "Satchel RedisStore|Deno|$APP_DENO|STORE=redis REDIS_URL=$REDIS_URL|plain signed read inc new"
  "Satchel RedisStore + near cache|Deno|$APP_DENO|STORE=redis NEAR_CACHE=1 REDIS_URL=$REDIS_URL|plain signed read inc new"
  "@hono/session + Redis|Deno|deno run -A bench/peers/hono-session.js|STORE=redis REDIS_URL=$REDIS_URL|plain signed read inc new"
)
if [ -n "$PG_URL" ]; then
  for rt in "Bun|$APP_BUN" "Deno|$APP_DENO" "Node|$APP_NODE"; do
    IFS='|' read -r rname rcmd <<<"$rt"
    SCENARIOS+=(
      "Satchel PostgresStore|$rname|$rcmd|STORE=postgres PG_URL=$PG_URL|plain signed read inc new"
      "hand-written minimum (Postgres)|$rname|$rcmd|STORE=postgres-min PG_URL=$PG_URL|read inc"
    )
  done
  SCENARIOS+=("express-session + connect-pg-simple|Node|node bench/peers/express-session-pg.js|PG_URL=$PG_URL|plain signed read inc new")
fi
# BASELINE=<another checkout> (e.g. `git worktree add /tmp/base <commit>`): the same app from that
# checkout, measured in the same run, to compare a change against what came before.
if [ -n "${BASELINE:-}" ]; then
  SCENARIOS+=(
    "Satchel SqliteStore (baseline)|Bun|bun $BASELINE/bench/app.ts|STORE=sqlite|plain signed read inc new"
    "Satchel MemoryStore (baseline)|Bun|bun $BASELINE/bench/app.ts|STORE=memory|plain signed read inc new"
    "Satchel SqliteStore (baseline)|Deno|deno run -A $BASELINE/bench/app.ts|STORE=sqlite|plain signed read inc new"
    "Satchel MemoryStore (baseline)|Deno|deno run -A $BASELINE/bench/app.ts|STORE=memory|plain signed read inc new"
  )
  [ -n "$REDIS_URL" ] && SCENARIOS+=(
    "Satchel RedisStore (baseline)|Bun|bun $BASELINE/bench/app.ts|STORE=redis REDIS_URL=$REDIS_URL|plain signed read inc new"
  )
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
{
  echo "# date	$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "# machine	$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "# runtimes	Bun $(bun --version), Deno $(deno --version | head -1 | cut -d' ' -f2), Node $(node --version | tr -d v), $("$WRK" -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "# load	wrk -t$THREADS -c$CONNS -d$DURATION, $SESSIONS sessions, best of $ROUNDS round(s)"
  echo "# loadavg-start	$(load)"
  printf 'app\truntime\troute\trps\tp50_us\tp99_us\tnon2xx\terrors\tserved\tsum\tlost\tcpu_us\n'
} >"$TSV"

echo "satchel bench: wrk -t$THREADS -c$CONNS -d$DURATION on 127.0.0.1:$PORT; load average $(load); raw output in $OUT"

wait_up() {
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/plain" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

fmt_ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }

# Server CPU time (user + system) in clock ticks so far.
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0; }

# line <app> <runtime> <route> <rps> <p50> <p99> <non2xx> <errors> <cpu µs/request> [check]
line() {
  printf '%-36s %-5s %-7s %7s req/s  p50 %9s  p99 %9s  server cpu %6s µs/req  non-2xx %s%s\n' "$1" "$2" "/$3" \
    "$4" "$(fmt_ms "$5")" "$(fmt_ms "$6")" "$9" "$7" \
    "$([ "$8" != 0 ] && echo " (socket errors $8)")${10:+  ${10}}"
}

# Reads every session in the cookie file once through /read (one curl
# process, one kept-alive connection); prints "<sessions read> <sum> <bad answers>".
sum_counts() {
  awk -v url="http://127.0.0.1:$PORT/read" '{
    if (NR > 1) print "next"
    printf "url = \"%s\"\nheader = \"Cookie: %s\"\nsilent\nwrite-out = \" %%{http_code}\\n\"\n", url, $0
  }' "$1" | curl -K - | awk '{ if ($2 == 200 && $1 ~ /^[0-9]+$/) { n++; s += $1 } else bad++ } END { print n + 0, s + 0, bad + 0 }'
}

# Creates $SESSIONS sessions through /login and writes their cookies, one a line.
login() {
  curl -s -o /dev/null -D - "http://127.0.0.1:$PORT/login?n=[1-$SESSIONS]" |
    awk 'tolower($1) == "set-cookie:" { sub(/;.*/, "", $2); print $2 }' >"$1"
}

status=0
for round in $(seq "$ROUNDS"); do
[ "$ROUNDS" -gt 1 ] && echo "-- round $round of $ROUNDS"
# Even rounds run the list backwards: the machine's speed drifts over minutes, and
# with the best of two rounds each scenario gets one early and one late chance.
ORDER=("${SCENARIOS[@]}")
if [ $((round % 2)) -eq 0 ]; then
  ORDER=()
  for ((k = ${#SCENARIOS[@]} - 1; k >= 0; k--)); do ORDER+=("${SCENARIOS[k]}"); done
fi
for sc in "${ORDER[@]}"; do
  IFS='|' read -r app runtime cmd envs routes <<<"$sc"
  if [ -n "$ONLY" ] && ! grep -Eq -- "$ONLY" <<<"$app $runtime"; then continue; fi
  slug=$(tr -c 'A-Za-z0-9\n' '-' <<<"$app-$runtime" | tr 'A-Z' 'a-z')
  db=$TMP/$slug.sqlite
  stats=$TMP/$slug.stats
  cookies=$TMP/$slug.cookies
  : >"$stats"
  PORT=$(free_port)
  [ -n "$REDIS_URL" ] && redis-cli -u "$REDIS_URL" flushall >/dev/null
  [ -n "$PG_URL" ] && grep -q PG_URL <<<"$envs" && pg_reset
  # shellcheck disable=SC2086
  env $envs PORT=$PORT SATCHEL_DB="$db" BENCH_STATS="$stats" $cmd >"$OUT/$slug.server.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_up; then
    echo "$app ($runtime): did not start; see $OUT/$slug.server.log" >&2
    status=1; kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; continue
  fi
  if grep -Eq 'signed|read|inc' <<<"$routes"; then
    login "$cookies"
    if [ "$(wc -l <"$cookies")" -ne "$SESSIONS" ]; then
      echo "$app ($runtime): /login created $(wc -l <"$cookies") sessions, not $SESSIONS" >&2
      status=1
    fi
  fi
  inc_line=
  for route in $routes; do
    # "signed": /plain from a signed-in user (a valid session cookie on a route that never touches the session).
    path=$route
    case $route in read | inc) ck=$cookies ;; signed) ck=$cookies path=plain ;; *) ck= ;; esac
    [ "$route" = inc ] && read -r _ before _ <<<"$(sum_counts "$cookies")"
    ticks0=$(cpu_ticks)
    ROUTE=/$path COOKIES=$ck "$WRK" -t"$THREADS" -c"$CONNS" -d"$DURATION" -s bench/load.lua \
      "http://127.0.0.1:$PORT/$path" >"$OUT/$slug-$route.txt" 2>&1
    ticks1=$(cpu_ticks)
    read -r _ reqs dur p50 p99 non2xx errs <<<"$(grep '^RESULT' "$OUT/$slug-$route.txt")"
    if [ -z "${reqs:-}" ]; then
      echo "$app ($runtime) /$route: wrk failed; see $OUT/$slug-$route.txt" >&2
      status=1; continue
    fi
    rps=$(awk -v r="$reqs" -v d="$dur" 'BEGIN { printf "%d", r / (d / 1e6) }')
    cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$HZ" -v r="$reqs" 'BEGIN { printf "%.1f", (r > 0 ? t / hz * 1e6 / r : 0) }')
    if [ "$route" = inc ]; then
      read -r nread after bad <<<"$(sum_counts "$cookies")"
      inc_row=("$app" "$runtime" "$route" "$rps" "$p50" "$p99" "$non2xx" "$errs" "$cpu")
      inc_ok=$((reqs - non2xx)) inc_sum=$((after - before)) inc_bad=$bad inc_read=$nread
    else
      line "$app" "$runtime" "$route" "$rps" "$p50" "$p99" "$non2xx" "$errs" "$cpu"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t%s\n' "$app" "$runtime" "$route" "$rps" "$p50" "$p99" "$non2xx" "$errs" "$cpu" >>"$TSV"
    fi
  done
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
  if [ -n "${inc_row+x}" ] && [ "${#inc_row[@]}" -gt 0 ]; then
    served=$(awk '{ s += $1 } END { print s + 0 }' "$stats")
    lost=$((served - inc_sum))
    # The server answered `served` /inc requests with 200; wrk saw inc_ok of them
    # (up to one a connection was in flight when wrk stopped).
    check="served 200: $served, counts grew by $inc_sum: lost updates $lost"
    if [ ! -s "$stats" ]; then check="no stats from the server: lost updates unknown"; lost=; status=1; fi
    if [ "$inc_bad" != 0 ] || [ "$inc_read" != "$SESSIONS" ]; then check="$check (read back $inc_read sessions, $inc_bad bad)"; fi
    if [ -n "$lost" ] && { [ "$served" -lt "$inc_ok" ] || [ "$served" -gt $((inc_ok + CONNS)) ]; }; then
      check="$check (wrk saw $inc_ok answers 200: mismatch)"
    fi
    line "${inc_row[@]}" "$check"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${inc_row[@]:0:8}" "$served" "$inc_sum" "$lost" "${inc_row[8]}" >>"$TSV"
    case $app in Satchel*) [ "${lost:-1}" != 0 ] && status=1 ;; esac
  fi
  unset inc_row
done
done

echo "# loadavg-end	$(load)" >>"$TSV"
ln -sfn "$STAMP" bench/results/latest
echo "load average at the end: $(load)"
if [ -z "$ONLY" ] && [ -z "${NO_WRITE:-}" ]; then
  bun bench/chart.ts "$TSV" || status=1
  deno fmt -q --config deno.json bench/RESULTS.md || status=1 # the tables as CI's deno fmt --check wants them
else
  bun bench/chart.ts --print "$TSV" || status=1
fi
exit $status
