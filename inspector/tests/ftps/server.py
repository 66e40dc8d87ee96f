"""Explicit FTPS server for the inspector's FTPS tests and captures/ftps-pyftpdlib.pcapng.

pyftpdlib's TLS_FTPHandler (needs pyOpenSSL). User alice / wonderland, full rights in ROOT.
AUTH SSL is refused (504) so that clients fall back to AUTH TLS, the only form Wireshark follows
into TLS. PROT P is not required: PROT C shows the file leaking. Prints "PORT <n>" once
listening (port 0 lets the kernel choose).

usage: python3 server.py ROOT IP PORT CERT_PEM
"""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer

root, ip, port, cert = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
authorizer = DummyAuthorizer()
authorizer.add_user("alice", "wonderland", root, perm="elradfmwMT")


class Handler(TLS_FTPHandler):
    authorizer = authorizer
    certfile = cert
    banner = "ftplab FTPS demo ready."

    def ftp_AUTH(self, line):
        if line.strip().upper() == "SSL":
            self.respond("504 AUTH SSL not supported, use AUTH TLS.")
            return
        super().ftp_AUTH(line)


server = FTPServer((ip, port), Handler)
print("PORT", server.socket.getsockname()[1], flush=True)
server.serve_forever()
