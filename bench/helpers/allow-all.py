#!/usr/bin/env python3
"""Allow-all filtering helper for the bench: answers every request with "allow", one line per line.

Usage: allow-all.py url|squid
  url    ExaProxy's url protocol: an empty line means "forward unchanged".
  squid  Squid's url_rewrite protocol: "OK" (prefixed with the channel-ID when the proxy sends one).
The helper does no work on purpose: the bench measures what the proxy spends talking to helpers.
"""
import sys


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in ("url", "squid"):
        sys.stderr.write("usage: allow-all.py url|squid (the helper protocol the proxy speaks)\n")
        sys.exit(2)
    squid = sys.argv[1] == "squid"
    out = sys.stdout
    for line in sys.stdin:
        if squid:
            first = line.split(" ", 1)[0]
            # With concurrency > 0 Squid puts a numeric channel-ID first, which the answer must repeat.
            out.write(f"{first} OK\n" if first.isdigit() else "OK\n")
        else:
            out.write("\n")
        out.flush()


if __name__ == "__main__":
    main()
