#!/usr/bin/env python3
"""ExaProxy ICAP-like protocol helper (`redirector.protocol = icap://NAME`): allow everything.

The proxy writes `REQMOD icap://NAME ICAP/1.0`, `Pragma:` lines (client, host, path, method…)
and `Encapsulated: req-hdr=0, null-body=N` (always last), an empty line, then the client's
request head: exactly N bytes. `ICAP/1.0 204 No Content` means "forward unchanged".
Nothing may be written to stderr while answering: the proxy counts that as a failure.
"""
import sys


def read_request(stdin):
    """Returns the ICAP header lines and the encapsulated head, or None at EOF."""
    line = stdin.readline()
    while line and not line.strip():  # tolerate blank lines between requests
        line = stdin.readline()
    if not line:
        return None
    lines = []
    while line and line.strip():
        lines.append(line.rstrip(b'\r\n'))
        line = stdin.readline()
    length = 0
    for header in lines:
        name, _, value = header.partition(b':')
        if name.strip().lower() == b'encapsulated':
            for part in value.split(b','):
                key, _, offset = part.strip().partition(b'=')
                if key == b'null-body' and offset.isdigit():
                    length = int(offset)
    head = stdin.read(length) if length else b''
    return lines, head


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        request = read_request(stdin)
        if request is None:
            return
        stdout.write(b'ICAP/1.0 204 No Content\r\n\r\n')
        stdout.flush()


if __name__ == '__main__':
    main()
