#!/usr/bin/env python3
"""Squid url_rewrite protocol helper: rewrite a path prefix.

usage: squid-rewrite.py FROM-PREFIX TO-PREFIX     (e.g. /old/ /new/)

`http://host/old/x` is answered `OK rewrite-url="http://host/new/x"`: the proxy fetches
that URL instead, invisibly to the client. Other requests (and CONNECT) get `ERR`.
Works with and without channel-IDs (concurrency).
"""
import sys


def quoted(value):
    return '"' + value.replace('\\', '\\\\').replace('"', '\\"') + '"'


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: squid-rewrite.py FROM-PREFIX TO-PREFIX\n')
        sys.exit(2)
    old, new = sys.argv[1], sys.argv[2]
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        fields = line.split()
        channel = ''
        if fields and fields[0].isdigit():
            channel = fields.pop(0) + ' '
        url = fields[0] if fields else ''
        reply = 'ERR'
        if '://' in url:
            scheme, rest = url.split('://', 1)
            authority, slash, tail = rest.partition('/')
            path = slash + tail
            if path.startswith(old):
                reply = 'OK rewrite-url=' + quoted('%s://%s%s%s' % (scheme, authority, new, path[len(old):]))
        sys.stdout.write(channel + reply + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
