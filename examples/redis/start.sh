#!/usr/bin/env bash
# One command: a private redis-server on a free loopback port (unless
# REDIS_URL is set) and two instances of examples/redis/app.ts sharing it,
# on :3001 and :3002. Ctrl-C stops everything.
#
#   bash examples/redis/start.sh [bun|deno|node]      (default: bun)
#
# Then, with one cookie jar against both instances:
#   curl -c /tmp/jar -b /tmp/jar http://127.0.0.1:3001/      count: 1
#   curl -c /tmp/jar -b /tmp/jar http://127.0.0.1:3002/      count: 2
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$PWD/node_modules/.bin
case "${1:-bun}" in
  bun) CMD=("$BIN/bun" examples/redis/app.ts) ;;
  deno) CMD=("$BIN/deno" run -A examples/redis/app.ts) ;;
  node) CMD=("$BIN/node" examples/redis/app.ts) ;;
  *) echo "usage: $0 [bun|deno|node]" >&2; exit 2 ;;
esac
[ -x "${CMD[0]}" ] || { echo "missing ${CMD[0]}: run 'npm install' first" >&2; exit 2; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/satchel-redis-example.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server), or set REDIS_URL" >&2; exit 2; }
  for _ in $(seq 20); do
    port=$(( 20000 + RANDOM % 20000 ))
    redis-cli -p "$port" ping >/dev/null 2>&1 || break
  done
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --logfile "$DIR/redis.log" &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$port"
  echo "redis-server on $REDIS_URL (private, in $DIR, not persisted)"
fi

PORT=${PORT_A:-3001} "${CMD[@]}" & pids+=($!)
PORT=${PORT_B:-3002} "${CMD[@]}" & pids+=($!)
cat <<MSG

Try (one cookie jar, two instances):
  curl -c /tmp/satchel-jar -b /tmp/satchel-jar http://127.0.0.1:${PORT_A:-3001}/
  curl -c /tmp/satchel-jar -b /tmp/satchel-jar http://127.0.0.1:${PORT_B:-3002}/
  curl -c /tmp/satchel-jar -b /tmp/satchel-jar http://127.0.0.1:${PORT_A:-3001}/login/alice
  curl -c /tmp/satchel-jar -b /tmp/satchel-jar http://127.0.0.1:${PORT_B:-3002}/logout-everywhere
Ctrl-C stops all.

MSG
wait -n
