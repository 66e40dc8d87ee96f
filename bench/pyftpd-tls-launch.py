#!/usr/bin/env python3
"""pyftpdlib with explicit FTPS required (TLS_FTPHandler, needs pyOpenSSL) for bench/ftps.sh.

Serves ROOT to bench/bench (read/write) on 127.0.0.1:PORT, passive ports LO-HI, TLS required on
the control and data connections, warnings-only logging, failed logins answered at once.

    python3 bench/pyftpd-tls-launch.py --port 2243 --root DIR --pasv 30000-30999 \
        --cert cert.pem --key key.pem
"""
import argparse
import logging

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.log import config_logging
from pyftpdlib.servers import FTPServer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--pasv", required=True, help="LO-HI passive port range")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--max-cons", type=int, default=4096)
    args = ap.parse_args()

    config_logging(level=logging.WARNING)
    auth = DummyAuthorizer()
    auth.add_user("bench", "bench", args.root, perm="elradfmwMT")

    lo, hi = (int(x) for x in args.pasv.split("-"))

    class Handler(TLS_FTPHandler):
        pass

    Handler.authorizer = auth
    Handler.passive_ports = list(range(lo, hi + 1))
    Handler.banner = "ftplab bench pyftpdlib TLS ready"
    Handler.auth_failed_timeout = 0
    Handler.certfile = args.cert
    Handler.keyfile = args.key
    Handler.tls_control_required = True
    Handler.tls_data_required = True

    server = FTPServer((args.host, args.port), Handler)
    server.max_cons = args.max_cons
    server.max_cons_per_ip = 0
    server.serve_forever()


if __name__ == "__main__":
    main()
