#!/usr/bin/env bash
# Instructions per session of an ftp-server build under callgrind, which counts user-space
# instructions of every thread and is not disturbed by other load on the machine (the wall-clock
# CPU figures of serve.sh are). Kernel time (syscalls, wake-ups) is not counted.
#
#   bench/callgrind-sessions.sh LABEL BIN [LOG_LEVEL]     (LOG_LEVEL: FTPLAB_LOG, default info)
#
# Runs the server twice under valgrind, with N1 (20) and N2 (220) sessions of ftp-load.py (login,
# TYPE I, PASV, RETR 64 KiB, QUIT; 4 at a time), and prints both totals; per session is
# (Ir(N2) - Ir(N1)) / (N2 - N1), which cancels startup, the first (argon2) login and shutdown.
# Port 2293, passive 34000-34999; files in $PERF/callgrind (default /tmp/perf).
set -eu
HERE="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${FTPLAB_BENCH_DIR:-$HERE/../shared/bench}"
label=$1 bin=$2 level=${3:-info}
D="${PERF:-${TMPDIR:-/tmp}/perf}/callgrind"
mkdir -p "$D/root/up"
[ -f "$D/root/small64k.bin" ] || head -c 65536 /dev/urandom > "$D/root/small64k.bin"
PORT=2293
n1=${N1:-20} n2=${N2:-220}
declare -A ir
for n in $n1 $n2; do
  db="$D/$label.db"
  rm -f "$db"
  printf 'bench\n' | "$bin" --db "sqlite://$db" user add bench --root "$D/root" --password-stdin >/dev/null 2>&1
  out="$D/$label-$level-$n.out"
  FTPLAB_LOG=$level setsid valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$bin" --db "sqlite://$db" serve --listen 127.0.0.1:$PORT --passive-ports 34000-34999 \
    > "$D/$label-$level-$n.stdout" 2> "$D/$label-$level-$n.stderr" &
  pid=$!
  for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
  python3 "$BENCH/ftp-load.py" --port $PORT --user bench --password bench --path /small64k.bin \
    --expect-bytes 65536 --conc 4 --sessions "$n" --duration 900 --timeout 300 > "$D/$label-$level-$n.load"
  kill -TERM $pid
  wait $pid || true
  ir[$n]=$(grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}')
  echo "$label $level sessions=$n Ir=${ir[$n]} load=$(cat "$D/$label-$level-$n.load") log_lines=$(grep -c . "$D/$label-$level-$n.stderr")"
done
echo "$label $level: $(( (ir[$n2] - ir[$n1]) / (n2 - n1) )) instructions per session"
