#!/usr/bin/env bash
# Download and upload throughput of ftp-client next to curl, against ftplab's ftp-server (release
# build), same file, same run, on 127.0.0.1. Files live in a temporary folder that is removed.
#
#   client/bench/get-put-1g.sh [SIZE_MIB] [RUNS]        (defaults: 1024 MiB, 3 runs)
#
# Prints one line per transfer and the median MiB/s of each tool and direction.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/../.." && pwd)"
SIZE_MIB=${1:-1024}
RUNS=${2:-3}
cargo build --release -p ftp-server -p ftp-client --manifest-path "$HERE/Cargo.toml" >&2
SERVER="$HERE/target/release/ftp-server"
CLIENT="$HERE/target/release/ftp-client"
WORK=$(mktemp -d)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$SERVER" --db "sqlite://$WORK/users.db" init --demo "$WORK/base" >/dev/null
FTPLAB_LOG=warn "$SERVER" --db "sqlite://$WORK/users.db" serve --listen 127.0.0.1:0 \
  --login-failure-delay-ms 0 >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$WORK/server.out" && break; sleep 0.1; done
PORT=$(sed -n 's|.*listening on ftp://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/server.out")
[ -n "$PORT" ] || { echo "server did not start" >&2; cat "$WORK/server.err" >&2; exit 1; }

ROOT="$WORK/base/root1"
mkdir -p "$WORK/local"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$ROOT/big.bin"
cp "$ROOT/big.bin" "$WORK/local/up.bin"

now() { date +%s.%N; }
rate() { awk -v s="$SIZE_MIB" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", s / (b - a) }'; }
declare -A results
measure() { # NAME COMMAND...
  local name=$1; shift
  sync
  local t0 t1
  t0=$(now); "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }; t1=$(now)
  local r; r=$(rate "$t0" "$t1")
  printf '%-16s %6s MiB/s\n' "$name" "$r"
  results[$name]+="$r "
}

URL="ftp://user1:pass1@127.0.0.1:$PORT"
for run in $(seq "$RUNS"); do
  echo "run $run ($SIZE_MIB MiB)"
  measure curl-get curl -s -o "$WORK/local/c.bin" "$URL/big.bin"
  rm -f "$WORK/local/c.bin"
  measure client-get "$CLIENT" "$URL/" --no-progress -c "lcd $WORK/local; get big.bin f.bin"
  rm -f "$WORK/local/f.bin"
  measure curl-put curl -s -T "$WORK/local/up.bin" "$URL/c-up.bin"
  rm -f "$ROOT/c-up.bin"
  measure client-put "$CLIENT" "$URL/" --no-progress -c "lcd $WORK/local; put up.bin f-up.bin"
  rm -f "$ROOT/f-up.bin"
done
echo "median MiB/s:"
for name in curl-get client-get curl-put client-put; do
  printf '  %-12s %s\n' "$name" "$(tr ' ' '\n' <<<"${results[$name]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
