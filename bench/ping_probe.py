#!/usr/bin/env python3
"""Latency probe for heartbeat pings: PROBES sequential GET /ping/<name> on one keep-alive
connection, one every INTERVAL ms (open loop), prints JSON {n, p50_ms, p99_ms, max_ms, errors}."""
import http.client
import json
import sys
import time

host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
probes, interval = int(sys.argv[4]), float(sys.argv[5]) / 1000.0
conn = http.client.HTTPConnection(host, port, timeout=10)
lat, errors = [], 0
next_at = time.perf_counter()
for _ in range(probes):
    now = time.perf_counter()
    if next_at > now:
        time.sleep(next_at - now)
    next_at += interval
    t0 = time.perf_counter()
    try:
        conn.request("GET", "/ping/" + name)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200 or body != b"OK":
            errors += 1
    except OSError:
        errors += 1
        conn = http.client.HTTPConnection(host, port, timeout=10)
        continue
    lat.append((time.perf_counter() - t0) * 1000.0)
lat.sort()
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 3) if lat else None
print(json.dumps({"n": len(lat), "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": q(1.0), "errors": errors}))
