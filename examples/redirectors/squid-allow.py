#!/usr/bin/env python3
"""Squid url_rewrite protocol helper: allow everything.

Each request line is `[channel-ID ]URL client-ip/- - METHOD myip=IP myport=PORT`; the
reply `[channel-ID ]ERR` means "no change" (`OK` would mean the same). The channel-ID is
present only when the proxy runs this helper with concurrency > 0: echo it back.
"""
import sys


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        first = line.split(' ', 1)[0]
        channel = first + ' ' if first.isdigit() else ''
        sys.stdout.write(channel + 'ERR\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
