#!/usr/bin/env python3
"""Concurrent explicit-FTPS session load generator (asyncio + ssl memory BIOs, stdlib only).

Each session: connect, read the greeting, AUTH TLS (234) and a TLS handshake on the control
connection, USER/PASS, PBSZ 0, PROT P, TYPE I, PASV, connect the data connection, RETR PATH,
read the 1xx reply, TLS handshake on the data connection resuming the control connection's TLS
session (RFC 4217 §10.2; vsftpd's require_ssl_reuse refuses a data connection that does not),
read the file to the end, wait for 226, QUIT. With --clear the same session without AUTH TLS,
PBSZ and PROT (the baseline). CONC workers run sessions back to back until --sessions have been
started or --duration seconds have passed. A session over --timeout seconds is an error.

The server's certificate is not checked (a benchmark of the server, not of the client's trust
store); the negotiated protocol and cipher suite of the first session are reported. asyncio's
own TLS transport cannot resume a given session, hence the small memory-BIO wrapper below.

Prints one JSON object (the same fields as ../shared/bench/ftp-load.py, plus tls, cipher,
data_resumed):

    python3 bench/ftps-load.py --port 2241 --user bench --password bench --conc 100 --duration 20
"""
import argparse
import asyncio
import json
import re
import resource
import ssl
import sys
import time


class FtpError(Exception):
    pass


class PlainStream:
    """A TCP connection with the interface of TlsStream."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def read(self, n):
        return await self.reader.read(n)

    async def write(self, data):
        self.writer.write(data)
        await self.writer.drain()

    def close(self):
        self.writer.close()


class TlsStream:
    """TLS client over an asyncio TCP connection through ssl.MemoryBIO, so that a data
    connection can resume the control connection's session (SSLContext.wrap_bio(session=))."""

    def __init__(self, reader, writer, ctx, session=None):
        self.reader, self.writer = reader, writer
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, session=session)
        self.eof = False

    async def _flush(self):
        data = self.outgoing.read()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def _fill(self):
        if self.eof:
            raise FtpError("tls-eof")
        data = await self.reader.read(65536)
        if data:
            self.incoming.write(data)
        else:
            self.eof = True
            self.incoming.write_eof()

    async def handshake(self):
        for _ in range(64):
            try:
                self.obj.do_handshake()
                await self._flush()
                return
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
        raise FtpError("tls-handshake-loop")

    async def read(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                await self._flush()
                try:
                    await self._fill()
                except FtpError:
                    return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    async def write(self, data):
        self.obj.write(data)
        await self._flush()

    def close(self):
        self.writer.close()


class Control:
    """Reads replies line by line from a PlainStream or TlsStream."""

    def __init__(self, stream):
        self.stream, self.buf = stream, b""

    async def readline(self):
        while b"\n" not in self.buf:
            data = await self.stream.read(4096)
            if not data:
                raise FtpError("eof")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("latin-1") + "\n"

    async def reply(self):
        text = await self.readline()
        code = text[:3]
        if text[3:4] == "-":
            for _ in range(1000):
                t = await self.readline()
                text += t
                if t[:3] == code and t[3:4] == " ":
                    break
        return int(code), text

    async def cmd(self, line, expect):
        await self.stream.write((line + "\r\n").encode("latin-1"))
        code, text = await self.reply()
        if code // 100 not in expect:
            raise FtpError(f"{line.split()[0]}:{code}")
        return code, text


PASV_RE = re.compile(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")


async def session(args, ctx, state):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    ctl = Control(PlainStream(reader, writer))
    nbytes = 0
    try:
        code, _ = await ctl.reply()
        if code != 220:
            raise FtpError(f"banner:{code}")
        if not args.clear:
            await ctl.cmd("AUTH TLS", (2,))
            tls = TlsStream(reader, writer, ctx)
            await tls.handshake()
            ctl.stream = tls
        code, _ = await ctl.cmd(f"USER {args.user}", (2, 3))
        if code == 331:
            await ctl.cmd(f"PASS {args.password}", (2,))
        if not args.clear:
            await ctl.cmd("PBSZ 0", (2,))
            await ctl.cmd("PROT P", (2,))
        await ctl.cmd("TYPE I", (2,))
        _, text = await ctl.cmd("PASV", (2,))
        m = PASV_RE.search(text)
        if not m:
            raise FtpError("pasv-parse")
        g = [int(x) for x in m.groups()]
        dreader, dwriter = await asyncio.open_connection(args.host, g[4] * 256 + g[5])
        data = PlainStream(dreader, dwriter)
        try:
            await ctl.stream.write(f"RETR {args.path}\r\n".encode("latin-1"))
            code, _ = await ctl.reply()
            if code // 100 != 1:
                raise FtpError(f"RETR:{code}")
            if not args.clear:
                data = TlsStream(dreader, dwriter, ctx, session=ctl.stream.obj.session)
                await data.handshake()
                if data.obj.session_reused:
                    state["resumed"] += 1
                if state["cipher"] is None:
                    state["cipher"] = list(data.obj.cipher()[:2])
            while True:
                chunk = await data.read(262144)
                if not chunk:
                    break
                nbytes += len(chunk)
        finally:
            data.close()
        code, _ = await ctl.reply()
        if code != 226:
            raise FtpError(f"RETR-end:{code}")
        if args.expect_bytes and nbytes != args.expect_bytes:
            raise FtpError("short-data")
        await ctl.cmd("QUIT", (2,))
    finally:
        writer.close()
    return nbytes


async def worker(args, ctx, state, deadline):
    while True:
        if time.monotonic() >= deadline or state["started"] >= args.sessions:
            return
        state["started"] += 1
        t0 = time.monotonic()
        try:
            n = await asyncio.wait_for(session(args, ctx, state), args.timeout)
            t1 = time.monotonic()
            state["lat"].append(t1 - t0)
            state["bytes"] += n
            if t1 <= deadline:
                state["in_window"] += 1
        except asyncio.TimeoutError:
            state["err"]["timeout"] = state["err"].get("timeout", 0) + 1
        except (FtpError, OSError, ssl.SSLError) as e:
            k = str(e) if isinstance(e, FtpError) else type(e).__name__
            state["err"][k] = state["err"].get(k, 0) + 1


def pct(vals, p):
    if not vals:
        return None
    return vals[min(len(vals) - 1, max(0, int(round(p / 100.0 * len(vals) + 0.5)) - 1))]


async def amain(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if args.tls13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    state = {"started": 0, "lat": [], "bytes": 0, "err": {}, "in_window": 0,
             "resumed": 0, "cipher": None}
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    deadline = t0 + args.duration
    await asyncio.gather(*(worker(args, ctx, state, deadline) for _ in range(args.conc)))
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    lat = sorted(state["lat"])
    ms = lambda v: None if v is None else round(v * 1000, 2)
    return {
        "conc": args.conc,
        "tls": not args.clear,
        "cipher": state["cipher"],
        "data_resumed": state["resumed"],
        "ok": len(lat),
        "errors": sum(state["err"].values()),
        "error_kinds": state["err"],
        "wall_s": round(wall, 3),
        "sessions_per_s": round(len(lat) / wall, 1) if wall else None,
        "sessions_per_s_window": round(state["in_window"] / min(wall, args.duration), 1) if wall else None,
        "lat_ms_p50": ms(pct(lat, 50)),
        "lat_ms_p99": ms(pct(lat, 99)),
        "lat_ms_max": ms(lat[-1] if lat else None),
        "bytes": state["bytes"],
        "client_cpu_s": round((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2241)
    ap.add_argument("--user", default="bench")
    ap.add_argument("--password", default="bench")
    ap.add_argument("--path", default="/small64k.bin")
    ap.add_argument("--expect-bytes", type=int, default=0, help="if >0, a session with another size is an error")
    ap.add_argument("--conc", type=int, default=100)
    ap.add_argument("--sessions", type=int, default=20000, help="upper bound on sessions started")
    ap.add_argument("--duration", type=float, default=20.0, help="upper bound on seconds")
    ap.add_argument("--timeout", type=float, default=30.0, help="per-session timeout")
    ap.add_argument("--clear", action="store_true", help="no AUTH TLS: plain FTP baseline")
    ap.add_argument("--tls13", action="store_true", help="refuse anything older than TLS 1.3")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.conc * 4 + 64))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    print(json.dumps(asyncio.run(amain(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
