#!/usr/bin/env bash
# Remakes captures/ftps-pyftpdlib.pcapng and its key log captures/ftps-pyftpdlib.keys (run as
# root from anywhere; needs tcpdump, editcap, curl, openssl, python3 with pyftpdlib and
# pyOpenSSL):
#   bash captures/make-ftps.sh
# pyftpdlib's TLS_FTPHandler on 127.0.0.44:2144 (inspector/tests/ftps/server.py) driven by
# inspector/tests/ftps/client.py (curl and ftplib: TLS 1.2 and 1.3, AES-GCM and ChaCha20,
# passive and active, PROT P and PROT C, USER before AUTH TLS, a session without TLS).
set -euo pipefail
cd "$(dirname "$0")"
out=$PWD
scripts=$PWD/../inspector/tests/ftps
ip=127.0.0.44
port=2144
work=$(mktemp -d)
server=
sniffer=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null || true
  [[ -n $sniffer ]] && kill "$sniffer" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/root"
printf 'Meeting notes over FTPS: the VPN password is still on the whiteboard.\n' > "$work/root/notes.txt"
head -c 5000 /dev/urandom > "$work/root/photo.bin"
printf 'uploaded over FTPS\n' > "$work/up.txt"
head -c 3000 /dev/urandom > "$work/up2.bin"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ftps.ftplab.test/O=ftplab" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/key.pem" "$work/cert.pem" > "$work/server.pem"

python3 "$scripts/server.py" "$work/root" $ip $port "$work/server.pem" > "$work/server.out" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q '^PORT' "$work/server.out" && break; sleep 0.1; done
tcpdump -i lo -U -w "$work/ftps.pcap" "host $ip" 2>/dev/null &
sniffer=$!
sleep 1
python3 "$scripts/client.py" $ip $port "$work/keys.log" "$work"
# tcpdump lags when niced: wait until a marker datagram is in the file.
mark="ftplab-marker-$$"
for _ in $(seq 100); do
  python3 -c "import socket;socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'$mark',('$ip',9))"
  sleep 0.2
  grep -q "$mark" "$work/ftps.pcap" && break
done
kill -INT "$sniffer"; wait "$sniffer" || true; sniffer=
editcap -F pcapng "$work/ftps.pcap" "$out/ftps-pyftpdlib.pcapng"
cp "$work/keys.log" "$out/ftps-pyftpdlib.keys"
ls -l "$out/ftps-pyftpdlib.pcapng" "$out/ftps-pyftpdlib.keys"
