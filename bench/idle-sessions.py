#!/usr/bin/env python3
"""Opens N control connections to an FTP server on 127.0.0.1, logs each in, keeps them idle for
SECONDS, and prints the server's RSS (from /proc) before and while they are idle.

    bench/idle-sessions.py PORT N SECONDS USER PASSWORD SERVER_PID
"""
import socket
import sys
import time


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main() -> None:
    port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    user, password, pid = sys.argv[4], sys.argv[5], int(sys.argv[6])
    print(f"server RSS before: {rss_kib(pid) / 1024:.1f} MiB")
    sessions = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f"USER {user}\r\n".encode())
        reader.readline()
        sock.sendall(f"PASS {password}\r\n".encode())
        reply = reader.readline()
        if not reply.startswith(b"230"):
            sys.exit(f"login failed: {reply!r}")
        sessions.append((sock, reader))
    time.sleep(seconds)
    print(f"server RSS with {len(sessions)} idle sessions: {rss_kib(pid) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
