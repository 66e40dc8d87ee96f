#!/usr/bin/env bash
# Runs the shared server benchmark (serve-bench.sh) against ftplab's ftp-server, vsftpd and
# pyftpdlib in one session, one after the other, on 127.0.0.1:2222 (or BENCH_PORT), with the same files.
#
#   bench/serve.sh [ftplab|ftplab-info|vsftpd|vsftpd-anon|pyftpdlib ...]  (default: all five)
#
# FTPLAB_BIN runs that binary as ftplab instead of building this tree (so the tree can change
# during a long benchmark). ftplab-before and ftplab-before-info run another build of ftp-server (FTPLAB_BEFORE_BIN, e.g.
# the release binary of the commit before a change) in the same session, for before/after rows.
#
# BENCH_PORT (2222) and BENCH_PASV (31000-31999) move the servers off the default ports, e.g. when
# another benchmark runs on this machine at the same time.
#
# Needs root (vsftpd runs as root and gets a system user `bench`), the packages vsftpd, curl,
# lftp, python3 with pyftpdlib, and ../shared/bench (or FTPLAB_BENCH_DIR). Variables of
# serve-bench.sh (RUNS, CONCS, DURATION, CONC_REPS, ...) pass through. Results: $PERF/serve-*.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${FTPLAB_BENCH_DIR:-$HERE/../shared/bench}"
export PERF="${PERF:-${TMPDIR:-/tmp}/perf}"
ROOT="$PERF/root"
PORT="${BENCH_PORT:-2222}"
PASV="${BENCH_PASV:-31000-31999}"
mkdir -p "$ROOT/up"
chmod 777 "$ROOT/up"
SERVERS=("$@")
[ ${#SERVERS[@]} -gt 0 ] || SERVERS=(ftplab vsftpd vsftpd-anon pyftpdlib ftplab-info)

if [ -n "${FTPLAB_BIN:-}" ]; then
  FTP_SERVER=$FTPLAB_BIN
else
  cargo build --release -p ftp-server --manifest-path "$HERE/Cargo.toml" >&2
  FTP_SERVER="${CARGO_TARGET_DIR:-$HERE/target}/release/ftp-server"
fi

run_ftplab() {
  local label=$1 log=$2 bin=${3:-$FTP_SERVER} db="$PERF/ftplab-bench.db"
  rm -f "$db"
  printf 'bench\n' | "$bin" --db "sqlite://$db" user add bench --root "$ROOT" --password-stdin >&2
  FTPLAB_LOG=$log FTP_PORT=$PORT FTP_USER=bench FTP_PASS=bench LABEL=$label \
    "$BENCH/serve-bench.sh" "$bin" --db "sqlite://$db" serve --listen "127.0.0.1:$PORT" \
    --passive-ports "$PASV" --max-sessions 5000 --max-sessions-per-address 5000
}

run_vsftpd() {
  id bench >/dev/null 2>&1 || useradd -M -d "$ROOT" -s /bin/bash bench
  echo 'bench:bench' | chpasswd
  chown bench "$ROOT/up"
  local conf="$PERF/vsftpd-bench.conf"
  cat > "$conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_root=$ROOT
chroot_local_user=YES
allow_writeable_chroot=YES
pasv_min_port=${PASV%-*}
pasv_max_port=${PASV#*-}
max_clients=5000
max_per_ip=5000
seccomp_sandbox=NO
xferlog_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
CONF
  mkdir -p /var/run/vsftpd/empty
  FTP_PORT=$PORT FTP_USER=bench FTP_PASS=bench LABEL=vsftpd "$BENCH/serve-bench.sh" vsftpd "$conf"
}

# vsftpd with anonymous logins: no PAM password hashing per session, as in REFERENCE.md.
run_vsftpd_anon() {
  local conf="$PERF/vsftpd-anon.conf"
  cat > "$conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=$PORT
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$ROOT
local_enable=NO
write_enable=NO
pasv_min_port=${PASV%-*}
pasv_max_port=${PASV#*-}
max_clients=5000
max_per_ip=5000
seccomp_sandbox=NO
xferlog_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
CONF
  mkdir -p /var/run/vsftpd/empty
  TESTS="${TESTS:-retr conc}" FTP_PORT=$PORT LABEL=vsftpd-anon "$BENCH/serve-bench.sh" vsftpd "$conf"
}

run_pyftpdlib() {
  FTP_PORT=$PORT FTP_USER=bench FTP_PASS=bench LABEL=pyftpdlib \
    "$BENCH/serve-bench.sh" python3 "$BENCH/pyftpd-launch.py" --port $PORT --root "$ROOT" --pasv "$PASV"
}

for server in "${SERVERS[@]}"; do
  case $server in
    ftplab) run_ftplab ftplab warn ;;            # logging like the peers: warnings only
    ftplab-info) run_ftplab ftplab-info info ;;  # default logging: one line per command
    ftplab-before) run_ftplab ftplab-before warn "${FTPLAB_BEFORE_BIN:?set FTPLAB_BEFORE_BIN}" ;;
    ftplab-before-info) run_ftplab ftplab-before-info info "${FTPLAB_BEFORE_BIN:?set FTPLAB_BEFORE_BIN}" ;;
    vsftpd) run_vsftpd ;;
    vsftpd-anon) run_vsftpd_anon ;;
    pyftpdlib) run_pyftpdlib ;;
    *) echo "unknown server $server" >&2; exit 2 ;;
  esac
done
