#!/usr/bin/env python3
"""Squid url_rewrite protocol helper: redirect requests for listed domains to a block page.

usage: squid-deny.py DOMAIN-FILE [BLOCK-PAGE-URL]

DOMAIN-FILE holds one domain per line (`#` starts a comment); subdomains match too. A
listed request gets `OK status=302 url="BLOCK-PAGE-URL"` (default http://blocked.invalid/),
anything else `ERR` (unchanged). Works with and without channel-IDs (concurrency).
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


def host_of(url):
    authority = url.split('://', 1)[1] if '://' in url else url  # CONNECT sends host:port
    authority = authority.split('/', 1)[0].rsplit('@', 1)[-1]
    if authority.startswith('['):
        return authority[1:].split(']', 1)[0]
    return authority.rsplit(':', 1)[0] if ':' in authority else authority


def listed(host, domains):
    labels = host.lower().rstrip('.').split('.')
    return any('.'.join(labels[i:]) in domains for i in range(len(labels)))


def quoted(value):
    # Squid reads \x inside quotes as x, so escape backslashes and quotes.
    return '"' + value.replace('\\', '\\\\').replace('"', '\\"') + '"'


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write('usage: squid-deny.py DOMAIN-FILE [BLOCK-PAGE-URL]\n')
        sys.exit(2)
    domains = load(sys.argv[1])
    page = sys.argv[2] if len(sys.argv) == 3 else 'http://blocked.invalid/'
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        fields = line.split()
        channel = ''
        if fields and fields[0].isdigit():
            channel = fields.pop(0) + ' '
        url = fields[0] if fields else ''
        if listed(host_of(url), domains):
            sys.stdout.write('%sOK status=302 url=%s\n' % (channel, quoted(page)))
        else:
            sys.stdout.write(channel + 'ERR\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
