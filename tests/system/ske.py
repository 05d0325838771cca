#!/usr/bin/env python3
"""Reads `openssl s_client -msg` output on stdin and prints the DH prime
of the ServerKeyExchange message in hex (lower case), or exits 1.

The harness uses this as a TLS client's own view of the served group,
independent of dhrotate's probe. TLS 1.2 DHE ServerKeyExchange:
type 0x0c, 3-byte length, then dh_p, dh_g, dh_Ys, each with a 2-byte
length (RFC 5246, 7.4.3)."""
import re
import sys

lines = sys.stdin.read().splitlines()
for i, line in enumerate(lines):
    if "ServerKeyExchange" not in line or not line.startswith("<<<"):
        continue
    data = []
    for hexline in lines[i + 1:]:
        if not re.match(r"^\s+[0-9a-f]{2}( |$)", hexline):
            break
        data += [int(b, 16) for b in hexline.split()]
    if len(data) < 6 or data[0] != 0x0C:
        continue
    plen = data[4] << 8 | data[5]
    p = bytes(data[6:6 + plen])
    if len(p) != plen:
        continue
    print(p.lstrip(b"\0").hex())
    sys.exit(0)
print("ske.py: no DHE ServerKeyExchange in the s_client output", file=sys.stderr)
sys.exit(1)
