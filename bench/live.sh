#!/usr/bin/env bash
# RETR of a 1 GiB file over loopback at full speed while a sniffer captures it: `inspector live`
# and `tcpdump -B 524288`, RUNS times each, in one session (issue 6). Per run: transfer rate,
# complete (the sniffer's copy of the file has the right sha256), bytes kept, drops reported,
# sniffer CPU and peak RSS. Then RUNS_CAPPED runs with curl --limit-rate 1000M.
#
#   bench/live.sh            (as root; RUNS=10 RUNS_CAPPED=3 PORT=2224; BUFFER=bytes for inspector;
#                             SERVER_NAME=ftplab|pyftpdlib|vsftpd, the server that sends the file;
#                             INSPECTOR_BEFORE=another inspector binary, run as a third sniffer
#                             "inspector-before" in the same rounds, e.g. the build before a change)
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
case "${SERVER_KIND:=${SERVER_NAME:-ftplab}}" in
  ftplab)
    rm -f "$WORK/users.db"
    printf 'bench\n' | "$SERVER" --db "sqlite://$WORK/users.db" user add bench --root "$ROOT" --password-stdin >/dev/null 2>&1
    FTPLAB_LOG=warn "$SERVER" --db "sqlite://$WORK/users.db" serve --listen "127.0.0.1:$PORT" \
      --passive-ports 31000-31999 > "$WORK/server.out" 2>&1 &
    ;;
  pyftpdlib)
    # The server of REFERENCE.md's tcpdump figures (make-captures.sh's default).
    python3 "$HERE/../shared/bench/pyftpd-launch.py" --port "$PORT" --root "$ROOT" --pasv 31000-31999 \
      --user bench --password bench > "$WORK/server.out" 2>&1 &
    ;;
  vsftpd)
    id bench >/dev/null 2>&1 || useradd -M -d "$ROOT" -s /bin/bash bench
    echo 'bench:bench' | chpasswd
    mkdir -p /var/run/vsftpd/empty
    cat > "$WORK/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=NO
local_enable=YES
local_root=$ROOT
chroot_local_user=YES
allow_writeable_chroot=YES
pasv_min_port=31000
pasv_max_port=31999
seccomp_sandbox=NO
xferlog_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
CONF
    vsftpd "$WORK/vsftpd.conf" > "$WORK/server.out" 2>&1 &
    ;;
  *) echo "SERVER_NAME must be ftplab, pyftpdlib or vsftpd" >&2; exit 2 ;;
esac
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; rm -f "$WORK"/*.pcap*' EXIT
sleep 1
cat "$ROOT/big1g.bin" > /dev/null

# CPU ticks the whole machine spent busy so far (all but idle and iowait), from /proc/stat.
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# one_run TOOL LIMIT -> prints a JSON row
one_run() {
  local tool=$1 limit=$2 out="$WORK/run"
  rm -f "$out".*
  # LOAD=N: N busy loops share the two cores with the transfer and the sniffer (a student's
  # lab VM also runs a browser and an editor); each is bounded in time.
  local hogs=() machine0
  for _ in $(seq "${LOAD:-0}"); do timeout 120 sh -c 'while :; do :; done' & hogs+=($!); done
  machine0=$(busy_ticks)
  if [ "$tool" != tcpdump ]; then
    local bin=$INSPECTOR
    [ "$tool" = inspector-before ] && bin=$INSPECTOR_BEFORE
    "$bin" live --iface lo --port "$PORT" --json --write "$out.pcapng" ${BUFFER:+--buffer "$BUFFER"} \
      > "$out.json" 2> "$out.err" &
  else
    tcpdump -i lo -B 524288 -w "$out.pcap" "port $PORT or portrange 31000-31999" 2> "$out.err" &
  fi
  local pid=$!
  for _ in $(seq 50); do grep -q -e "capturing on" -e "listening on" "$out.err" 2>/dev/null && break; sleep 0.1; done
  local speed
  speed=$(curl -sS ${limit:+--limit-rate "$limit"} -o /dev/null -w '%{speed_download}' -u bench:bench "ftp://127.0.0.1:$PORT/big1g.bin")
  # Let the sniffer drain what the kernel still queues (tcpdump discards it at SIGINT), the way
  # make-captures.sh does: wait 2 s, then until the capture file stops growing.
  local file=$out.pcap a b
  [ "$tool" != tcpdump ] && file=$out.pcapng
  sleep 2
  for _ in $(seq 60); do
    a=$(stat -c %s "$file" 2>/dev/null); sleep 1.5; b=$(stat -c %s "$file" 2>/dev/null)
    [ "$a" = "$b" ] && break
  done
  # CPU (user+sys ticks) and peak RSS from /proc just before the sniffer is stopped.
  local ticks rss
  ticks=$(awk '{print $14+$15}' "/proc/$pid/stat")
  rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  local machine=$(( $(busy_ticks) - machine0 ))
  for h in "${hogs[@]}"; do kill "$h" 2>/dev/null; wait "$h" 2>/dev/null || true; done
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
  # What the capture holds of the file, and the holes the reassembler found in it: together
  # they must make the whole file, or the loss was not accounted for.
  local held
  held=$(python3 -c '
import json, sys
best = (0, 0, 0)
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("kind") == "transfer" and e.get("name") == "big1g.bin":
        gaps = e.get("gaps") or []
        best = max(best, (e["bytes"], len(gaps), sum(g[1] for g in gaps)))
print("%d,%d,%d" % best)' "$json" 2>/dev/null || echo 0,0,0)
  printf '{"server":"%s","tool":"%s","limit":"%s","mbps":%.0f,"complete":%s,"bytes_kept":%s,"drops":"%s","cpu_s":%.2f,"peak_rss_mib":%.1f,"machine_cpu_s":%.2f,"load":%s,"file_bytes":%s,"gaps":%s,"gap_bytes":%s}\n' \
    "$SERVER_KIND" "$tool" "${limit:-none}" "$(awk "BEGIN{print $speed/1e6}")" "$complete" "${kept:-0}" "${drops:-?}" \
    "$(awk "BEGIN{print $ticks/100}")" "$(awk "BEGIN{print $rss/1024}")" \
    "$(awk "BEGIN{print $machine/100}")" "${LOAD:-0}" "${held%%,*}" "$(echo "$held" | cut -d, -f2)" "${held##*,}"
}

for i in $(seq "$RUNS"); do
  printf 'none       %s\n' "$(curl -sS -o /dev/null -w '%{speed_download}' -u bench:bench "ftp://127.0.0.1:$PORT/big1g.bin")" >&2
  one_run inspector ""
  [ -n "${INSPECTOR_BEFORE:-}" ] && one_run inspector-before ""
  one_run tcpdump ""
done
for i in $(seq "$RUNS_CAPPED"); do
  one_run inspector 1000M
  [ -n "${INSPECTOR_BEFORE:-}" ] && one_run inspector-before 1000M
  one_run tcpdump 1000M
done
