#!/usr/bin/env python3
"""Stdlib-only readiness probe for the local Kafka broker (used by kafka.sh).

Sends one Metadata request (API key 3, version 4: the oldest version Kafka 4.x
still accepts, and a non-flexible one, so it is easy to encode by hand) and
checks that the broker answers with itself in the broker list and a controller
id. Exit 0 when the broker is ready, 1 otherwise (reason on stderr).

Usage: kafka_probe.py HOST PORT [TIMEOUT_SECONDS]
"""

from __future__ import annotations

import socket
import struct
import sys

API_METADATA = 3
METADATA_VERSION = 4
CORRELATION_ID = 0x7A5C


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return bytes(buf)


def _metadata_request() -> bytes:
    client_id = b"taskstream-kafka-probe"
    # Request header v1: api_key, api_version, correlation_id, client_id.
    header = struct.pack(">hhih", API_METADATA, METADATA_VERSION, CORRELATION_ID, len(client_id))
    header += client_id
    # Metadata v4 body: topics = null (all topics), allow_auto_topic_creation = false.
    body = struct.pack(">i?", -1, False)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values[0] if len(values) == 1 else values

    def nullable_string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8")


def probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(_metadata_request())
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            resp = _Reader(_recv_exact(sock, size))
    except (OSError, ConnectionError) as exc:
        return False, f"metadata request failed: {exc}"

    try:
        if resp.take(">i") != CORRELATION_ID:
            return False, "unexpected correlation id in metadata response"
        resp.take(">i")  # throttle_time_ms
        n_brokers = resp.take(">i")
        brokers = []
        for _ in range(max(n_brokers, 0)):
            node_id = resp.take(">i")
            bhost = resp.nullable_string()
            bport = resp.take(">i")
            resp.nullable_string()  # rack
            brokers.append((node_id, bhost, bport))
        cluster_id = resp.nullable_string()
        controller_id = resp.take(">i")
    except struct.error as exc:
        return False, f"malformed metadata response: {exc}"

    if not brokers:
        return False, "broker answered but lists no brokers yet"
    if controller_id < 0:
        return False, "broker answered but reports no controller yet"
    listed = ", ".join(f"{n}@{h}:{p}" for n, h, p in brokers)
    return True, f"cluster {cluster_id}: brokers [{listed}], controller {controller_id}"


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    timeout = float(argv[3]) if len(argv) == 4 else 3.0
    ok, message = probe(argv[1], int(argv[2]), timeout)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
