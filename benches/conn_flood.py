#!/usr/bin/env python3
"""RSS of the gateway before, during and after a flood of idle keep-alive connections.

    cargo build --release --bin idlegate
    python3 benches/conn_flood.py                       # 20000 connections, keepalive 5s
    python3 benches/conn_flood.py --connections 5000 --binary path/to/idlegate

Starts a small upstream (in this process), the gateway with `proxy.keepalive_timeout` short,
opens N client connections that each make one request and then stay idle, and prints the
gateway's resident memory: before the flood, with every connection open, and once the gateway
has closed them (plus a few seconds to settle). Everything listens on 127.0.0.1 and the run
stops by itself: connections the gateway has not closed by the deadline are closed here.
Run as root (or with a hard open-files limit above 2 N) for the larger floods.
"""

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def metric(admin, name):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=2).read()
    except OSError:
        return None
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(n, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def upstream(reader, writer):
    """Answers every request head with a 2-byte body, keep-alive."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    writer.close()


async def one_client(port, opened, closed, stop):
    """One request, then idle until the gateway closes the connection (or `stop`)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/v2/users/me HTTP/1.1\r\nHost: bench\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)
    except (OSError, asyncio.IncompleteReadError) as e:
        print(f"client failed: {e!r}", file=sys.stderr)
        return
    opened.append(1)
    read = asyncio.ensure_future(reader.read(1))
    done, _ = await asyncio.wait([read, stop], return_when=asyncio.FIRST_COMPLETED)
    if read in done:
        closed.append(1)
    else:
        read.cancel()
    writer.close()


async def flood(args, proxy, admin, pid):
    opened, closed = [], []
    stop = asyncio.get_running_loop().create_future()
    tasks = []
    for start in range(0, args.connections, args.batch):
        batch = [
            asyncio.ensure_future(one_client(proxy, opened, closed, stop))
            for _ in range(min(args.batch, args.connections - start))
        ]
        tasks += batch
        while len(opened) < start + len(batch) and not all(t.done() for t in batch):
            await asyncio.sleep(0.01)
    during = rss_mb(pid)
    gauge = metric(admin, "idlegate_connections_open")
    print(f"during: {during:8.1f} MB RSS  ({len(opened)} connections open, "
          f"idlegate_connections_open {gauge})")
    deadline = time.monotonic() + args.keepalive + args.grace
    while len(closed) < len(opened) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    print(f"closed by the gateway: {len(closed)} of {len(opened)} "
          f"after {args.keepalive + args.grace - (deadline - time.monotonic()):.1f} s")
    stop.set_result(None)
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(args.settle)
    print(f"after:  {rss_mb(pid):8.1f} MB RSS  (idlegate_connections_open "
          f"{metric(admin, 'idlegate_connections_open')})")


async def main(args):
    raise_nofile(2 * args.connections + 1024)
    up_port, proxy, admin = free_port(), free_port(), free_port()
    server = await asyncio.start_server(upstream, "127.0.0.1", up_port, backlog=4096)
    work = tempfile.mkdtemp()
    cfg = os.path.join(work, "idlegate.toml")
    with open(cfg, "w") as f:
        f.write(f"""[proxy]
listen = "127.0.0.1:{proxy}"
upstream = "http://127.0.0.1:{up_port}"
max_connections = {args.connections + 100}
keepalive_timeout = "{args.keepalive}s"
[admin]
listen = "127.0.0.1:{admin}"
""")
    env = dict(os.environ, IDLEGATE_HASH_KEY="bench", RUST_LOG="warn")
    gw = subprocess.Popen([args.binary, "run", "--config", cfg], env=env,
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "log"), "w"))
    try:
        for _ in range(100):
            if metric(admin, "idlegate_tokens_tracked") is not None:
                break
            await asyncio.sleep(0.1)
        print(f"{args.binary}: {args.connections} connections, keepalive {args.keepalive}s")
        print(f"before: {rss_mb(gw.pid):8.1f} MB RSS")
        await flood(args, proxy, admin, gw.pid)
    finally:
        gw.terminate()
        gw.wait(timeout=20)
        server.close()
        with open(os.path.join(work, "log")) as f:
            warnings = [l for l in f if "WARN" in l or "ERROR" in l]
        for line in warnings[:5]:
            print("  log:", line.strip()[:200])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default="target/release/idlegate")
    p.add_argument("--connections", type=int, default=20000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--keepalive", type=int, default=5, help="seconds")
    p.add_argument("--grace", type=int, default=40,
                   help="seconds past keepalive to wait for the gateway to close them")
    p.add_argument("--settle", type=float, default=12.0,
                   help="seconds from the close to the last figure (jemalloc purges after 10 s)")
    asyncio.run(main(p.parse_args()))
