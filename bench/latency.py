#!/usr/bin/env python3
"""POST -> webhook latency: a webhook sink and a prober in one asyncio process.

The sink is a raw asyncio.Protocol HTTP/1.1 server (keep-alive) that stamps each request when its
first bytes arrive, answers 200 at once, and pulls every "probe_id":"..." out of the body with a
regex (no JSON decoding on the hot path). The prober POSTs one alert per probe to the server
under test over keep-alive connections (a small pool, so a slow POST does not delay the next
probe: probes go out open-loop every --interval ms), stamping the send just before write().
latency = arrival - send, on the same monotonic clock in the same process.

Each probe carries a unique probe_id label and alertname=LatencyProbe; bench/latency.yml routes
those with group_by [alertname, probe_id], group_wait 0s, group_interval 1h, so every probe is a
new group that is flushed at once.

--self-test points the prober at the sink itself: the figure is then the harness's own cost
(loopback + asyncio on both ends), which must stay well under 0.1 ms.

Prints one JSON object: {"sent":..,"received":..,"lost":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,
"max_ms":..,"post_non2xx":..,"latencies_ms":[..]}.
"""
import argparse
import asyncio
import datetime as dt
import json
import os
import re
import sys
import time

PROBE_RE = re.compile(rb'"probe_id":"([^"]+)"')
now_ns = time.monotonic_ns


class Sink(asyncio.Protocol):
    """HTTP/1.1 server: records arrival of every request and the probe ids in its body."""

    arrivals = {}  # probe id -> arrival ns (first time seen)
    requests = 0

    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
        self.first_ns = 0

    def data_received(self, data):
        if not self.buf:
            self.first_ns = now_ns()
        self.buf += data
        while True:
            h = self.buf.find(b"\r\n\r\n")
            if h < 0:
                return
            head = self.buf[:h].lower()
            i = head.find(b"content-length:")
            n = int(head[i + 15 : head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None]) if i >= 0 else 0
            end = h + 4 + n
            if len(self.buf) < end:
                return
            body = self.buf[h + 4 : end]
            arrived = self.first_ns
            self.buf = self.buf[end:]
            self.first_ns = now_ns() if self.buf else 0
            self.t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            Sink.requests += 1
            for m in PROBE_RE.finditer(body):
                Sink.arrivals.setdefault(m.group(1).decode(), arrived)


class Client(asyncio.Protocol):
    """One keep-alive connection to the server under test; one request in flight at a time."""

    def __init__(self, pool):
        self.pool = pool
        self.buf = b""
        self.waiter = None

    def connection_made(self, transport):
        self.t = transport

    def data_received(self, data):
        self.buf += data
        h = self.buf.find(b"\r\n\r\n")
        if h < 0:
            return
        head = self.buf[:h].lower()
        i = head.find(b"content-length:")
        n = int(head[i + 15 : head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None]) if i >= 0 else 0
        if len(self.buf) < h + 4 + n:
            return
        status = int(self.buf[9:12])
        self.buf = self.buf[h + 4 + n :]
        if self.waiter and not self.waiter.done():
            self.waiter.set_result(status)

    def connection_lost(self, exc):
        if self.waiter and not self.waiter.done():
            self.waiter.set_result(0)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def probe_body(pid):
    now = dt.datetime.now(dt.timezone.utc)
    a = {
        "labels": {
            "alertname": "LatencyProbe",
            "probe_id": pid,
            "instance": "prober:9100",
            "job": "bench",
            "severity": "info",
            "env": "bench",
            "region": "local",
            "team": "perf",
        },
        "annotations": {"summary": "latency probe", "description": "probe " + pid, "runbook_url": "https://example.com/rb"},
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(now + dt.timedelta(hours=1)),
        "generatorURL": "http://prober.example.com/probe",
    }
    return json.dumps([a], separators=(",", ":")).encode()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sink-port", type=int, required=True)
    p.add_argument("--target", default=None, help="host:port of the server under test")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--probes", type=int, default=200)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--interval-ms", type=float, default=20)
    p.add_argument("--start-delay", type=float, default=0, help="seconds to wait before probing")
    p.add_argument("--drain", type=float, default=10, help="max seconds to wait for late arrivals")
    a = p.parse_args()

    loop = asyncio.get_running_loop()
    srv = await loop.create_server(Sink, "127.0.0.1", a.sink_port, reuse_address=True)
    host, port = ("127.0.0.1", a.sink_port) if a.self_test else a.target.rsplit(":", 1)
    path = "/hook" if a.self_test else "/api/v2/alerts"
    run = "%x" % (os.getpid() * 1000 + int(time.time()) % 1000)
    print("sink ready", file=sys.stderr, flush=True)
    if a.start_delay:
        await asyncio.sleep(a.start_delay)

    idle = []
    statuses = {}
    sends = {}

    async def one(pid, record):
        body = probe_body(pid)
        req = (
            b"POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), host.encode(), str(port).encode(), len(body))
        ) + body
        if idle:
            c = idle.pop()
        else:
            _, c = await loop.create_connection(lambda: Client(idle), host, int(port))
            c.t.get_extra_info("socket").setsockopt(6, 1, 1)  # TCP_NODELAY
        c.waiter = loop.create_future()
        t0 = now_ns()
        c.t.write(req)
        if record:
            sends[pid] = t0
        st = await c.waiter
        statuses[st] = statuses.get(st, 0) + 1
        if st:
            idle.append(c)

    tasks = []
    for i in range(a.warmup):
        await one("%s-w%d" % (run, i), False)
        await asyncio.sleep(a.interval_ms / 1000)
    statuses.clear()
    t_next = time.monotonic()
    for i in range(a.probes):
        tasks.append(asyncio.ensure_future(one("%s-%d" % (run, i), True)))
        t_next += a.interval_ms / 1000
        await asyncio.sleep(max(0, t_next - time.monotonic()))
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + a.drain
    while time.monotonic() < deadline and any(pid not in Sink.arrivals for pid in sends):
        await asyncio.sleep(0.01)
    srv.close()

    lat = sorted((Sink.arrivals[pid] - t0) / 1e6 for pid, t0 in sends.items() if pid in Sink.arrivals)

    def pct(q):
        if not lat:
            return None
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3)  # nearest rank, floor

    out = {
        "sent": len(sends),
        "received": len(lat),
        "lost": len(sends) - len(lat),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1], 3) if lat else None,
        "post_statuses": {str(k): v for k, v in statuses.items()},
        "post_non2xx": sum(v for k, v in statuses.items() if not 200 <= k < 300),
        "sink_requests": Sink.requests,
        "latencies_ms": [round(x, 3) for x in lat],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
