"""Drives the FTPS server of server.py the way the inspector's FTPS tests expect, writing every
TLS secret to KEYLOG (curl through SSLKEYLOGFILE, ftplib through keylog_filename):

1. curl, TLS 1.3 with ChaCha20-Poly1305, passive RETR notes.txt
2. curl, TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305, passive STOR up.txt
3. curl, TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384 (SHA-384 PRF), passive RETR photo.bin
4. curl, TLS 1.3 with AES-128-GCM, passive LIST
5. ftplib, TLS 1.3 (AES-256-GCM): FEAT, USER before AUTH TLS (the name leaks), PASS, PROT P,
   active RETR photo.bin, then PROT C and a passive RETR notes.txt (the file in clear)
6. ftplib, TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256: PROT P, passive NLST, active STOR up2.bin
7. ftplib without TLS: FEAT (which offers AUTH TLS), a login in clear, QUIT

usage: python3 client.py IP PORT KEYLOG WORKDIR   (WORKDIR holds up.txt and up2.bin)
"""
import ftplib
import io
import os
import ssl
import subprocess
import sys

ip, port, keylog, work = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
base = f"ftp://{ip}:{port}"
env = dict(os.environ, SSLKEYLOGFILE=keylog)


def curl(*args):
    subprocess.run(
        ["curl", "-sS", "--max-time", "60", "--ssl-reqd", "-k", "-u", "alice:wonderland", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def context(tls12_cipher=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = keylog
    if tls12_cipher:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(tls12_cipher)
    return ctx


curl("--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256", f"{base}/notes.txt", "-o", os.devnull)
curl("--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305",
     "-T", os.path.join(work, "up.txt"), f"{base}/")
curl("--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384",
     f"{base}/photo.bin", "-o", os.devnull)
curl("--tls13-ciphers", "TLS_AES_128_GCM_SHA256", f"{base}/", "-o", os.devnull)

f = ftplib.FTP_TLS(context=context(), timeout=60)
f.connect(ip, port)
f.sendcmd("FEAT")
f.sendcmd("USER alice")
f.auth()
f.sendcmd("PASS wonderland")
f.prot_p()
f.set_pasv(False)
f.retrbinary("RETR photo.bin", io.BytesIO().write)
f.prot_c()
f.set_pasv(True)
f.retrbinary("RETR notes.txt", io.BytesIO().write)
f.quit()

f = ftplib.FTP_TLS(context=context("ECDHE-RSA-AES128-GCM-SHA256"), timeout=60)
f.connect(ip, port)
f.login("alice", "wonderland")
f.prot_p()
f.nlst()
f.set_pasv(False)
with open(os.path.join(work, "up2.bin"), "rb") as data:
    f.storbinary("STOR up2.bin", data)
f.quit()

f = ftplib.FTP(timeout=60)
f.connect(ip, port)
f.sendcmd("FEAT")
f.login("alice", "wonderland")
f.quit()
