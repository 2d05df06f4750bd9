#!/usr/bin/env python3
"""Writes an ES256 signing key's JWKS and COUNT real ES256 JWTs signed with it, for
benches/proxy_cpu.sh (README, "Benchmarks").

    python3 benches/make_jwts.py DIR COUNT
      DIR/jwks.json     {"keys":[P-256 public key, kid "bench"]}
      DIR/tokens.txt    one compact JWS per line

Every token verifies against the JWKS (docs/reference.md, "Identity"): header
{"alg":"ES256","kid":"bench","typ":"JWT"}, a subject shared by ten tokens, one group, and an
`exp` a week ahead so no run outlives its tokens. Needs the `cryptography` package.
"""
import base64
import json
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk_of(public_key) -> dict:
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": "bench",
        "alg": "ES256",
        "use": "sig",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def sign(key, signing_input: bytes) -> str:
    # A JWS carries ES256 as the raw 64-byte r || s, not the DER that OpenSSL produces.
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: make_jwts.py DIR COUNT")
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    (out / "jwks.json").write_text(json.dumps({"keys": [jwk_of(key.public_key())]}))
    header = b64url(json.dumps({"alg": "ES256", "kid": "bench", "typ": "JWT"}).encode())
    now = int(time.time())
    with open(out / "tokens.txt", "w", encoding="ascii") as tokens:
        for i in range(count):
            claims = {"sub": f"user-{i // 10:06d}", "groups": ["agents"], "iat": now,
                      "exp": now + 7 * 86400, "jti": f"t{i:07d}"}
            signing_input = header + "." + b64url(json.dumps(claims).encode())
            tokens.write(signing_input + "." + sign(key, signing_input.encode()) + "\n")


if __name__ == "__main__":
    main()
