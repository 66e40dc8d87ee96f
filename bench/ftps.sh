#!/usr/bin/env bash
# Explicit FTPS (RFC 4217) benchmark: ftplab's ftp-server, vsftpd (ssl_enable=YES,
# require_ssl_reuse=YES, its default) and pyftpdlib (TLS_FTPHandler), all three running at once on
# 127.0.0.1, measured in one session, interleaved (A B C A B C) so that the drift of a shared
# machine spreads over all of them. ftplab-clear is the same ftplab process without AUTH TLS, the
# clear-text baseline.
#
#   bench/ftps.sh            (root; `just bench-tls`)
#
# Per round and server: RETR and STOR of a 1 GiB file with curl --ssl-reqd (PROT P, TLS 1.3,
# TLS_AES_256_GCM_SHA384 forced on the client so all three negotiate the same suite), then
# CONC concurrent TLS sessions for DURATION s with bench/ftps-load.py (AUTH TLS, login, PBSZ 0,
# PROT P, RETR of 64 KiB on a data connection that resumes the control connection's TLS session,
# QUIT). Server CPU comes from ../shared/bench/procmon.py (the whole process tree, reaped
# children included: vsftpd forks two processes per session). Each row also keeps the 1-minute
# load average. Variables: RUNS (3) rounds of RETR and STOR, CONC_REPS (3) rounds of the session
# test, CONC (100), DURATION (10 s, upper bound), SERVERS ("ftplab-clear ftplab vsftpd
# pyftpdlib vsftpd-anon"; the last, anonymous logins over TLS, only in the session test), TESTS
# ("retr stor conc"). Ports 2241–2244, passive 27000–30999. Results and a
# summary table: $PERF/ftps/run-*/ (results.jsonl, summary.md).
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${FTPLAB_BENCH_DIR:-$HERE/../shared/bench}"
export PERF="${PERF:-${TMPDIR:-/tmp}/perf}"
RUNS=${RUNS:-3}
CONC_REPS=${CONC_REPS:-3}
CONC=${CONC:-100}
DURATION=${DURATION:-10}
SERVERS=${SERVERS:-"ftplab-clear ftplab vsftpd pyftpdlib vsftpd-anon"}
TESTS=${TESTS:-"retr stor conc"}
WORK="$PERF/ftps"
ROOT="$WORK/root"
OUT="$WORK/run-$(date +%Y%m%d-%H%M%S)"
RES="$OUT/results.jsonl"
mkdir -p "$ROOT/up" "$OUT"
: > "$RES"
log() { echo "[ftps $(date +%H:%M:%S)] $*" >&2; }

cargo build --release -p ftp-server --manifest-path "$HERE/Cargo.toml" >&2
FTP_SERVER="${CARGO_TARGET_DIR:-$HERE/target}/release/ftp-server"

# ---- files, certificate, user ------------------------------------------------------------------
[ "$(stat -c %s "$ROOT/big1g.bin" 2>/dev/null)" = 1073741824 ] || head -c 1073741824 /dev/urandom > "$ROOT/big1g.bin"
[ "$(stat -c %s "$ROOT/small64k.bin" 2>/dev/null)" = 65536 ] || head -c 65536 /dev/urandom > "$ROOT/small64k.bin"
chmod a+r "$ROOT/big1g.bin" "$ROOT/small64k.bin"
WANT=$(sha256sum < "$ROOT/big1g.bin" | cut -c1-64)
# One certificate for all three servers: ftplab's demo pair (ECDSA P-256, names localhost,
# 127.0.0.1, ::1), so that the handshakes cost the same signature everywhere.
"$FTP_SERVER" --db "sqlite://$WORK/demo.db" init --demo "$WORK/demo" > "$OUT/init.log" 2>&1
CERT="$WORK/demo/tls/cert.pem"
KEY="$WORK/demo/tls/key.pem"
id bench >/dev/null 2>&1 || useradd -M -d "$ROOT" -s /bin/bash bench
echo 'bench:bench' | chpasswd
chmod 755 "$WORK" "$ROOT"
chown bench "$ROOT/up"
chmod 777 "$ROOT/up"

# ---- servers --------------------------------------------------------------------------------------
declare -A PORT=([ftplab]=2241 [ftplab-clear]=2241 [vsftpd]=2242 [pyftpdlib]=2243 [vsftpd-anon]=2244)
declare -A PID=()
PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start() {   # start NAME COMMAND...: own process group, log in $OUT/NAME.log
  local name=$1; shift
  setsid "$@" > "$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
}

rm -f "$WORK/users.db"
printf 'bench\n' | "$FTP_SERVER" --db "sqlite://$WORK/users.db" user add bench --root "$ROOT" --password-stdin >/dev/null
FTPLAB_LOG=warn start ftplab "$FTP_SERVER" --db "sqlite://$WORK/users.db" serve \
  --listen "127.0.0.1:${PORT[ftplab]}" --passive-ports 28000-28999 \
  --max-sessions 5000 --max-sessions-per-address 5000 \
  --tls-cert "$CERT" --tls-key "$KEY" --tls optional
PID[ftplab-clear]=${PID[ftplab]}

mkdir -p /var/run/vsftpd/empty
cat > "$OUT/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=${PORT[vsftpd]}
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_root=$ROOT
chroot_local_user=YES
allow_writeable_chroot=YES
pasv_min_port=29000
pasv_max_port=29999
max_clients=5000
max_per_ip=5000
seccomp_sandbox=NO
xferlog_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
ssl_enable=YES
rsa_cert_file=$CERT
rsa_private_key_file=$KEY
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=YES
ssl_ciphers=HIGH
CONF
start vsftpd vsftpd "$OUT/vsftpd.conf"

# vsftpd with anonymous logins over TLS, for the session test only: without PAM's password hash
# (yescrypt, tens of ms per login) the figure shows what vsftpd's TLS and process per session cost.
cat > "$OUT/vsftpd-anon.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=${PORT[vsftpd-anon]}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$ROOT
local_enable=NO
write_enable=NO
pasv_min_port=27000
pasv_max_port=27999
max_clients=5000
max_per_ip=5000
seccomp_sandbox=NO
xferlog_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
ssl_enable=YES
rsa_cert_file=$CERT
rsa_private_key_file=$KEY
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
ssl_ciphers=HIGH
CONF
start vsftpd-anon vsftpd "$OUT/vsftpd-anon.conf"

start pyftpdlib python3 "$HERE/bench/pyftpd-tls-launch.py" --port "${PORT[pyftpdlib]}" --root "$ROOT" \
  --pasv 30000-30999 --cert "$CERT" --key "$KEY"

for name in ftplab vsftpd pyftpdlib vsftpd-anon; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$name]}") 2>/dev/null && break
    kill -0 "${PID[$name]}" 2>/dev/null || { log "$name exited; see $OUT/$name.log"; exit 1; }
    sleep 0.1
  done
done

# curl's options per server: TLS 1.3 with one suite for the TLS servers, plain FTP for the baseline.
curl_opts() {
  if [ "$1" = ftplab-clear ]; then
    echo "--ftp-pasv"
  else
    echo "--ftp-pasv --ssl-reqd --cacert $CERT --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384"
  fi
}
url() { echo "ftp://127.0.0.1:${PORT[$1]}$2"; }

# Sanity and the negotiated protocol and suite, once per server (curl -v prints them).
for s in $SERVERS; do
  # shellcheck disable=SC2046
  cred=bench:bench; [ "$s" = vsftpd-anon ] && cred=anonymous:
  curl -sS -v $(curl_opts "$s") -u "$cred" -o /dev/null "$(url "$s" /small64k.bin)" 2> "$OUT/curl-v-$s.log" \
    || { log "sanity RETR on $s failed: $OUT/curl-v-$s.log"; exit 1; }
  log "$s: $(grep -m1 'SSL connection using' "$OUT/curl-v-$s.log" || echo clear)"
done

MON=""
mon_start() { python3 "$BENCH/procmon.py" "$1" > "$OUT/mon.tmp" & MON=$!; sleep 0.2; }
mon_stop() { kill -TERM "$MON"; wait "$MON" 2>/dev/null || true; M=$(cat "$OUT/mon.tmp"); [ -n "$M" ] || M='{}'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

transfer() {   # transfer retr|stor SERVER ROUND
  local test=$1 s=$2 i=$3 la w ok=true
  la=$(load1)
  cat "$ROOT/big1g.bin" > /dev/null
  rm -f "$ROOT/up/stor-$s.bin"
  mon_start "${PID[$s]}"
  # shellcheck disable=SC2046
  if [ "$test" = retr ]; then
    w=$(curl -sS $(curl_opts "$s") -u bench:bench -o /dev/null -w '%{speed_download} %{size_download}' "$(url "$s" /big1g.bin)") || ok=false
  else
    w=$(curl -sS $(curl_opts "$s") -u bench:bench -T "$ROOT/big1g.bin" -w '%{speed_upload} %{size_upload}' "$(url "$s" "/up/stor-$s.bin")") || ok=false
  fi
  # vsftpd's session processes exit after curl has its last reply: let the listener reap them,
  # so that their CPU time is in its cutime when procmon reads it.
  sleep 0.5
  mon_stop
  set -- ${w:-0 0}
  [ "$2" = 1073741824 ] || ok=false
  if [ "$test" = stor ]; then
    [ "$(stat -c %s "$ROOT/up/stor-$s.bin" 2>/dev/null)" = 1073741824 ] || ok=false
    # The upload is checked once per server, in the first round (hashing 1 GiB costs 3 s).
    if [ "$i" = 1 ] && [ "$ok" = true ]; then
      [ "$(sha256sum < "$ROOT/up/stor-$s.bin" | cut -c1-64)" = "$WANT" ] || ok=false
    fi
    rm -f "$ROOT/up/stor-$s.bin"
  fi
  echo "{\"test\":\"$test\",\"server\":\"$s\",\"run\":$i,\"load1\":$la,\"mbps\":$(awk "BEGIN{print $1/1e6}"),\"bytes\":$2,\"ok\":$ok,\"mon\":$M}" >> "$RES"
  log "$test $s run $i: $(awk "BEGIN{printf \"%.0f\", $1/1e6}") MB/s ok=$ok load $la"
}

sessions() {   # sessions SERVER ROUND
  local s=$1 i=$2 la r extra="" user=bench
  [ "$s" = ftplab-clear ] && extra=--clear
  [ "$s" = vsftpd-anon ] && user=anonymous
  sleep 2
  la=$(load1)
  mon_start "${PID[$s]}"
  r=$(python3 "$HERE/bench/ftps-load.py" --port "${PORT[$s]}" --user "$user" --password bench \
      --path /small64k.bin --expect-bytes 65536 --conc "$CONC" --duration "$DURATION" \
      --sessions 20000 --timeout 30 $extra) || r='{"ok":0,"errors":-1}'
  mon_stop
  echo "{\"test\":\"conc\",\"server\":\"$s\",\"run\":$i,\"load1\":$la,\"load\":$r,\"mon\":$M}" >> "$RES"
  log "conc $s run $i: $r"
}

log "load before: $(uptime)"
for test in retr stor; do
  [[ " $TESTS " == *" $test "* ]] || continue
  for i in $(seq "$RUNS"); do
    for s in $SERVERS; do [ "$s" = vsftpd-anon ] || transfer "$test" "$s" "$i"; done
  done
done
if [[ " $TESTS " == *" conc "* ]]; then
  for i in $(seq "$CONC_REPS"); do for s in $SERVERS; do sessions "$s" "$i"; done; done
fi
log "load after: $(uptime)"

python3 "$HERE/bench/ftps-summary.py" "$RES" | tee "$OUT/summary.md"
log "raw rows: $RES"
