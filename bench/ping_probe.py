#!/usr/bin/env python3
"""Latency probe for heartbeat pings: PROBES sequential GET /ping/<name> on one keep-alive
connection, one every INTERVAL ms (open loop), prints JSON {n, p50_ms, p99_ms, max_ms, errors}.

Each probe is timed from just before its request is written to the socket to just after the
last byte of the answer is read. The request is built once and the answer read with plain
socket calls: http.client's own work (building the request, parsing the answer, a few hundred
microseconds of Python per probe, more when the probe's core is busy) is not the server's
latency. The answer must be a 200 whose body is OK, with Content-Length framing."""
import json
import socket
import sys
import time

host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
probes, interval = int(sys.argv[4]), float(sys.argv[5]) / 1000.0
request = f"GET /ping/{name} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


def connect():
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def answer(s):
    """Reads one answer; returns (status, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        body += chunk
    return status, body


conn = connect()
lat, errors = [], 0
next_at = time.perf_counter()
for _ in range(probes):
    now = time.perf_counter()
    if next_at > now:
        time.sleep(next_at - now)
    next_at += interval
    t0 = time.perf_counter()
    try:
        conn.sendall(request)
        status, body = answer(conn)
        t1 = time.perf_counter()
        if status != 200 or body != b"OK":
            errors += 1
    except (OSError, ValueError, IndexError):
        errors += 1
        conn.close()
        conn = connect()
        continue
    lat.append((t1 - t0) * 1000.0)
lat.sort()
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 3) if lat else None
print(json.dumps({"n": len(lat), "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": q(1.0), "errors": errors}))
