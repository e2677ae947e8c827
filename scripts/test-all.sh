#!/usr/bin/env bash
# Runs the whole test suite on Bun, Deno and Node 24 (all from node_modules),
# with a private redis-server on a free loopback port when one is installed
# and a private PostgreSQL cluster (scripts/pg-cluster.sh) when its binaries are,
# and ends with one line: "N passed, N failed" summed over the runtimes.
# Usage: npm test                 (all runtimes)
#        npm test -- bun          (one runtime: bun, deno or node)
#        TESTS="tests/x.test.ts" npm test
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/node_modules/.bin
export NO_COLOR=1
unset FORCE_COLOR
RUNTIMES=("${@:-bun deno node}")
read -r -a RUNTIMES <<<"${RUNTIMES[*]}"
TESTS=${TESTS:-$(ls tests/*.test.ts | tr '\n' ' ')}

for tool in bun deno node; do
  [ -x "$BIN/$tool" ] || { echo "missing $BIN/$tool: run 'npm install' first" >&2; exit 2; }
done

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/satchel-test.XXXXXX")
cleanup() {
  if [ -f "$LOGDIR/redis.pid" ]; then kill "$(cat "$LOGDIR/redis.pid")" 2>/dev/null; fi
  if [ -n "${PGDIR:-}" ]; then bash scripts/pg-cluster.sh stop "$PGDIR"; rm -rf "$PGDIR"; fi
  rm -rf "$LOGDIR"
}
trap cleanup EXIT

# A private Redis for the RedisStore tests (never the machine's own instance).
if [ -z "${SATCHEL_REDIS_URL:-}" ]; then
  if command -v redis-server >/dev/null 2>&1; then
    port=$(( 20000 + RANDOM % 20000 ))
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --pidfile "$LOGDIR/redis.pid" --logfile "$LOGDIR/redis.log" --dir "$LOGDIR" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    export SATCHEL_REDIS_URL="redis://127.0.0.1:$port"
    export SATCHEL_REDIS_SERVER="$(command -v redis-server)"
  elif [ -n "${CI:-}" ]; then
    echo "redis-server is not installed; CI needs it (apt-get install redis-server)" >&2
    exit 2
  else
    echo "note: redis-server not found, RedisStore tests will be skipped (apt-get install redis-server)" >&2
  fi
fi

# A private PostgreSQL cluster for the PostgresStore tests (scripts/pg-cluster.sh).
if [ -z "${SATCHEL_PG_URL:-}" ]; then
  if bash scripts/pg-cluster.sh bin >/dev/null 2>&1; then
    # Its own folder directly under the temp dir: the cluster runs as `postgres`, which cannot enter $LOGDIR.
    PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/satchel-pg.XXXXXX")
    SATCHEL_PG_URL=$(bash scripts/pg-cluster.sh start "$PGDIR" | head -1) || { echo "PostgreSQL did not start" >&2; exit 2; }
    export SATCHEL_PG_URL
  elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL is not installed; CI needs it (apt-get install postgresql)" >&2
    exit 2
  else
    echo "note: PostgreSQL not found, PostgresStore tests will be skipped (apt-get install postgresql)" >&2
  fi
fi

total_pass=0
total_fail=0
status=0
for rt in "${RUNTIMES[@]}"; do
  log="$LOGDIR/$rt.log"
  echo "== $rt"
  strip() { sed -E 's/\x1b\[[0-9;]*m//g' -i "$log"; }
  case "$rt" in
    bun) "$BIN/bun" test --timeout 120000 $TESTS 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}; strip
         pass=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+')
         fail=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+') ;;
    deno) "$BIN/deno" test -A --no-check $TESTS 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}; strip
         line=$(grep -E '(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
         pass=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
         fail=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line") ;;
    node) "$BIN/node" --test --test-reporter=spec --test-timeout=120000 $TESTS 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}; strip
         pass=$(grep -E '^ℹ pass [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+')
         fail=$(grep -E '^ℹ fail [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+') ;;
    *) echo "unknown runtime: $rt (bun, deno or node)" >&2; exit 2 ;;
  esac
  pass=${pass:-0}; fail=${fail:-0}
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; echo "$rt exited $rc" >&2; fi
  if [ "$pass" -eq 0 ]; then echo "$rt ran no test" >&2; status=1; fi
  [ "$fail" -ne 0 ] && status=1
  echo "$rt: $pass passed, $fail failed"
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
done
echo "$total_pass passed, $total_fail failed"
exit $status
