#!/bin/sh
# ExaProxy `url` protocol helper: deny the domains listed in a file.
# usage: url-deny.sh DOMAIN-FILE [REPLY]
# A request for a listed domain or a subdomain gets REPLY (default `file://deny.html`),
# any other an empty line. Hosts are compared as the proxy sends them (lower case).
set -f # no globbing of the words below
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo 'usage: url-deny.sh DOMAIN-FILE [REPLY]' >&2
  exit 2
fi
domains=$(sed -e 's/#.*//' "$1") || exit 2
reply=${2:-file://deny.html}

listed() {
  for domain in $domains; do
    case $1 in "$domain" | *."$domain") return 0 ;; esac
  done
  return 1
}

while read -r url client ident method rest; do
  if listed "${url%%/*}"; then printf '%s\n' "$reply"; else printf '\n'; fi
done
