#!/usr/bin/env bash
# RETR of a 1 GiB file over loopback at full speed while a sniffer captures it: `inspector live`
# and `tcpdump -B 524288`, RUNS times each, in one session (issue 6). Per run: transfer rate,
# complete (the sniffer's copy of the file has the right sha256), bytes kept, drops reported,
# sniffer CPU and peak RSS. Then RUNS_CAPPED runs with curl --limit-rate 1000M.
#
#   bench/live.sh            (as root; RUNS=10 RUNS_CAPPED=3 PORT=2224; BUFFER=bytes for inspector)
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
export PERF="${PERF:-${TMPDIR:-/tmp}/perf}"
RUNS=${RUNS:-10}
RUNS_CAPPED=${RUNS_CAPPED:-3}
PORT=${PORT:-2224}
ROOT="$PERF/root"
WORK="$PERF/live-bench"
mkdir -p "$ROOT" "$WORK"
[ "$(stat -c %s "$ROOT/big1g.bin" 2>/dev/null)" = 1073741824 ] || head -c 1073741824 /dev/urandom > "$ROOT/big1g.bin"
WANT=$(sha256sum < "$ROOT/big1g.bin" | cut -c1-64)
cargo build --release -p ftp-server -p inspector --manifest-path "$HERE/Cargo.toml" >&2
SERVER="$HERE/target/release/ftp-server"
INSPECTOR="$HERE/target/release/inspector"
rm -f "$WORK/users.db"
printf 'bench\n' | "$SERVER" --db "sqlite://$WORK/users.db" user add bench --root "$ROOT" --password-stdin >/dev/null 2>&1
FTPLAB_LOG=warn "$SERVER" --db "sqlite://$WORK/users.db" serve --listen "127.0.0.1:$PORT" \
  --passive-ports 31000-31999 > "$WORK/server.out" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; rm -f "$WORK"/*.pcap*' EXIT
sleep 1
cat "$ROOT/big1g.bin" > /dev/null

# one_run TOOL LIMIT -> prints a JSON row
one_run() {
  local tool=$1 limit=$2 out="$WORK/run"
  rm -f "$out".*
  if [ "$tool" = inspector ]; then
    "$INSPECTOR" live --iface lo --port "$PORT" --json --write "$out.pcapng" ${BUFFER:+--buffer "$BUFFER"} \
      > "$out.json" 2> "$out.err" &
  else
    tcpdump -i lo -B 524288 -w "$out.pcap" "port $PORT or portrange 31000-31999" 2> "$out.err" &
  fi
  local pid=$!
  for _ in $(seq 50); do grep -q -e "capturing on" -e "listening on" "$out.err" 2>/dev/null && break; sleep 0.1; done
  local speed
  speed=$(curl -sS ${limit:+--limit-rate "$limit"} -o /dev/null -w '%{speed_download}' -u bench:bench "ftp://127.0.0.1:$PORT/big1g.bin")
  # Let the sniffer drain what the kernel still queues: tcpdump discards it at SIGINT.
  sleep 3
  # CPU (user+sys ticks) and peak RSS from /proc just before the sniffer is stopped.
  local ticks rss
  ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
  rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  local json=$out.json kept drops
  if [ "$tool" = tcpdump ]; then
    "$INSPECTOR" read --json --port "$PORT" "$out.pcap" > "$out.json" 2>/dev/null || true
    kept=$(stat -c %s "$out.pcap")
    drops=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$out.err")
  else
    kept=$(grep '"capture_stats"' "$json" | sed 's/.*"bytes_kept":\([0-9]*\).*/\1/')
    drops=$(grep '"capture_stats"' "$json" | sed 's/.*"kernel_drops":\([0-9a-z]*\).*/\1/')
  fi
  local complete=false
  grep '"kind":"transfer"' "$json" | grep -q "\"sha256\":\"$WANT\".*\"complete\":true" && complete=true
  printf '{"tool":"%s","limit":"%s","mbps":%.0f,"complete":%s,"bytes_kept":%s,"drops":"%s","cpu_s":%.2f,"peak_rss_mib":%.1f}\n' \
    "$tool" "${limit:-none}" "$(awk "BEGIN{print $speed/1e6}")" "$complete" "${kept:-0}" "${drops:-?}" \
    "$(awk "BEGIN{print $ticks/100}")" "$(awk "BEGIN{print $rss/1024}")"
}

for i in $(seq "$RUNS"); do
  printf 'none       %s\n' "$(curl -sS -o /dev/null -w '%{speed_download}' -u bench:bench "ftp://127.0.0.1:$PORT/big1g.bin")" >&2
  one_run inspector ""
  one_run tcpdump ""
done
for i in $(seq "$RUNS_CAPPED"); do
  one_run inspector 1000M
  one_run tcpdump 1000M
done
