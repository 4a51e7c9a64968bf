#!/usr/bin/env python3
"""ExaProxy `url` protocol helper: rewrite a path prefix on the same host.

usage: url-rewrite.py FROM-PREFIX TO-PREFIX     (e.g. /old/ /new/)

A request whose path starts with FROM-PREFIX is answered `http://<host><TO-PREFIX><rest>`:
ExaProxy reads a reply naming the same host with another path as "fetch this path instead".
Other requests get an empty line (unchanged).
"""
import sys


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: url-rewrite.py FROM-PREFIX TO-PREFIX\n')
        sys.exit(2)
    old, new = sys.argv[1], sys.argv[2]
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        fields = line.split()
        url = fields[0] if fields else ''
        host, slash, rest = url.partition('/')
        path = slash + rest
        if fields and len(fields) > 3 and fields[3] != 'CONNECT' and path.startswith(old):
            sys.stdout.write('http://%s%s%s\n' % (host, new, path[len(old):]))
        else:
            sys.stdout.write('\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
