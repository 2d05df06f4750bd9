#!/usr/bin/env python3
"""Writes a large HAR recording (about SIZE_MB megabytes) to stdout for the HAR bars:
many agents, each a copy of tests/fixtures/har/idle-agent.har with its own token.

    python3 benches/make_big_har.py 200 > /tmp/big.har
    /usr/bin/time -v target/release/idlegate har /tmp/big.har --json > /dev/null
"""
import json
import sys
from pathlib import Path

size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
fixture = Path(__file__).resolve().parent.parent / "tests/fixtures/har/idle-agent.har"
har = json.loads(fixture.read_text())
entries = har["log"]["entries"]
template = json.dumps(entries)
out = sys.stdout
out.write('{"log":{"version":"1.2","creator":{"name":"make_big_har","version":"1"},"entries":[')
written, agent, first = 0, 0, True
while written < size_mb * 1_000_000:
    # A different token per copy: replace the bearer token's signature part.
    chunk = template.replace("bearer ", f"bearer agent{agent:06d}")
    body = chunk[1:-1]
    if not first:
        out.write(",")
    out.write(body)
    written += len(body)
    first = False
    agent += 1
out.write("]}}\n")
