#!/usr/bin/env bash
# Remakes the shipped captures (run as root from the workspace root after `cargo build`):
#   bash captures/make.sh
# Each capture records a server on a loopback address of its own so nothing else gets in.
set -euo pipefail
cd "$(dirname "$0")"
out=$PWD
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
bin=../target/debug

wait_marker() {  # tcpdump lags when niced: wait until a marker datagram is in the file
  local file=$1 ip=$2 mark="ftplab-marker-$$"
  for _ in $(seq 100); do
    if [[ $ip == *:* ]]; then python3 -c "import socket;s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM);s.sendto(b'$mark',('$ip',9))"
    else python3 -c "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.sendto(b'$mark',('$ip',9))"; fi
    sleep 0.2
    grep -q "$mark" "$file" 2>/dev/null && return 0
  done
  echo "marker never arrived" >&2; return 1
}

# 1. ftplab-curl.pcap: our server on 127.0.0.21:2121; curl: a failed login, a passive RETR,
#    an active (EPRT) RETR and a STOR.
ip=127.0.0.21
$bin/ftp-server --db "sqlite://$work/u.db" init --demo "$work/base" >/dev/null
printf 'Meeting notes: the VPN password is on the whiteboard.\n' > "$work/base/root1/notes.txt"
head -c 3000 /dev/zero | tr '\0' 'x' > "$work/base/root1/report.csv"
printf 'uploaded by user1\n' > "$work/upload.txt"
$bin/ftp-server --db "sqlite://$work/u.db" serve --listen $ip:2121 --login-failure-delay-ms 0 >/dev/null 2>&1 &
sleep 1
tcpdump -i lo -U -w "$out/ftplab-curl.pcap" "host $ip" 2>/dev/null & td=$!
sleep 1
curl -s -u user1:letmein ftp://$ip:2121/notes.txt -o /dev/null || true
curl -s -u user1:pass1 ftp://$ip:2121/notes.txt -o /dev/null
curl -s -u user1:pass1 -P - ftp://$ip:2121/report.csv -o /dev/null
curl -s -u user1:pass1 -T "$work/upload.txt" ftp://$ip:2121/
wait_marker "$out/ftplab-curl.pcap" $ip
kill -INT $td; wait $td || true

# 2. pyftpdlib-lftp-any.pcapng: pyftpdlib on [::1], lftp (LIST, get, put), recorded on the
#    "any" interface (Linux cooked SLL2 frames) with nanosecond timestamps, as pcapng.
mkdir -p "$work/py"
printf 'hello from pyftpdlib\n' > "$work/py/hello.txt"
python3 - "$work/py" <<'PY' &
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
a = DummyAuthorizer(); a.add_user("alice", "wonderland", sys.argv[1], perm="elradfmwMT")
class H(FTPHandler):
    authorizer = a
    banner = "pyftpdlib 2.2.0 ready."
FTPServer(("::1", 2122), H).serve_forever()
PY
sleep 1
tcpdump -i any -U --time-stamp-precision=nano -w "$work/any.pcap" "ip6 and host ::1 and not port 9999" 2>/dev/null & td=$!
sleep 1
lftp -u alice,wonderland -e "set ftp:ssl-allow no; ls; get hello.txt -o $work/h; put $work/upload.txt -o up.txt; bye" "ftp://[::1]:2122" >/dev/null
wait_marker "$work/any.pcap" ::1
kill -INT $td; wait $td || true
editcap -F pcapng "$work/any.pcap" "$out/pyftpdlib-lftp-any.pcapng"

# 3. broken/: a capture cut in the middle of a record, and a file that is no capture at all.
size=$(stat -c %s "$out/ftplab-curl.pcap")
head -c $((size / 2)) "$out/ftplab-curl.pcap" > "$out/broken/truncated.pcap"
printf 'This is a text file, not a capture.\n' > "$out/broken/not-a-capture.pcap"
ls -l "$out" "$out/broken"
