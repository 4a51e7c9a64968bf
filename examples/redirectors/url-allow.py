#!/usr/bin/env python3
"""ExaProxy `url` protocol helper: allow everything.

Each request line is `<host><path> <client-ip> - <METHOD> -`; an empty reply line means
"forward the request unchanged". Exits when stdin closes (the proxy stopped it).

The proxy may write several requests at once (redirector.pipeline): all those already
waiting are read together and answered in one write, one wake-up of each side per burst.
"""
import os


def main():
    while True:
        data = os.read(0, 65536)  # whatever is waiting, one request or many
        if not data:
            return
        # One reply per complete line; a line cut in two is answered when its end arrives.
        write_all(b'\n' * data.count(b'\n'))


def write_all(data):
    while data:
        data = data[os.write(1, data):]


if __name__ == '__main__':
    main()
