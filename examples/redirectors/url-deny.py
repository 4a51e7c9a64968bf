#!/usr/bin/env python3
"""ExaProxy `url` protocol helper: deny the domains listed in a file.

usage: url-deny.py DOMAIN-FILE [REPLY]

DOMAIN-FILE holds one domain per line (`#` starts a comment). A request for a listed domain
or any of its subdomains gets REPLY (default `file://deny.html`, ExaProxy's deny page; a
`redirect://URL` works too); every other request gets an empty line (allowed).
"""
import sys


def load(path):
    domains = set()
    with open(path) as listing:
        for line in listing:
            domain = line.split('#', 1)[0].strip().lower().rstrip('.')
            if domain:
                domains.add(domain)
    return domains


def listed(host, domains):
    labels = host.lower().rstrip('.').split('.')
    return any('.'.join(labels[i:]) in domains for i in range(len(labels)))


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write('usage: url-deny.py DOMAIN-FILE [REPLY]\n')
        sys.exit(2)
    domains = load(sys.argv[1])
    reply = sys.argv[2] if len(sys.argv) == 3 else 'file://deny.html'
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        fields = line.split()
        host = fields[0].split('/', 1)[0] if fields else ''
        sys.stdout.write((reply if listed(host, domains) else '') + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
