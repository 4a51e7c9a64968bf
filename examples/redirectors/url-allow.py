#!/usr/bin/env python3
"""ExaProxy `url` protocol helper: allow everything.

Each request line is `<host><path> <client-ip> - <METHOD> -`; an empty reply line means
"forward the request unchanged". Exits when stdin closes (the proxy stopped it).
"""
import sys


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        sys.stdout.write('\n')
        sys.stdout.flush()  # one reply per request, immediately: the proxy is waiting


if __name__ == '__main__':
    main()
