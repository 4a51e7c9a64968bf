#!/usr/bin/env python3
"""Squid url_rewrite protocol helper: allow everything.

Each request line is `[channel-ID ]URL client-ip/- - METHOD myip=IP myport=PORT`; the
reply `[channel-ID ]ERR` means "no change" (`OK` would mean the same). The channel-ID is
present only when the proxy runs this helper with concurrency > 0: echo it back.

The proxy may write several requests at once (concurrency, or pipelining without it): all
those already waiting are read together and answered in one write.
"""
import os


def main():
    rest = b''
    while True:
        data = os.read(0, 65536)  # whatever is waiting, one request or many
        if not data:
            return
        lines = (rest + data).split(b'\n')
        rest = lines.pop()  # a line cut in two is answered when its end arrives
        write_all(b''.join(reply(line) for line in lines))


def reply(line):
    first = line.split(b' ', 1)[0]
    return first + b' ERR\n' if first.isdigit() else b'ERR\n'


def write_all(data):
    while data:
        data = data[os.write(1, data):]


if __name__ == '__main__':
    main()
