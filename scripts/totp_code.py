"""Print the current code of a TOTP key (the demo accounts' keys that `make run` prints), for
a newcomer without an authenticator application. Development only: a real key belongs in
its owner's application or security key, never on a command line."""

from __future__ import annotations

import base64
import sys
import time

from django_otp.oath import TOTP


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: .venv/bin/python scripts/totp_code.py <base32 key>", file=sys.stderr)
        return 2
    text = sys.argv[1].replace(" ", "").upper()
    try:
        key = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        print("not a base32 key", file=sys.stderr)
        return 2
    totp = TOTP(key)
    totp.time = time.time()
    print(f"{totp.token():06d}  (valid for {30 - int(totp.time) % 30} more seconds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
