#!/bin/sh
# Squid url_rewrite protocol helper: redirect requests for listed domains to a block page.
# usage: squid-deny.sh DOMAIN-FILE [BLOCK-PAGE-URL]
# Listed domains (and subdomains) get `OK status=302 url="BLOCK-PAGE-URL"` (default
# http://blocked.invalid/), anything else `ERR`. Channel-IDs are echoed when present.
set -f
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo 'usage: squid-deny.sh DOMAIN-FILE [BLOCK-PAGE-URL]' >&2
  exit 2
fi
domains=$(sed -e 's/#.*//' "$1") || exit 2
page=${2:-http://blocked.invalid/}
case $page in *[\"\\]*) echo 'squid-deny.sh: BLOCK-PAGE-URL must not contain " or \' >&2; exit 2 ;; esac

listed() {
  for domain in $domains; do
    case $1 in "$domain" | *."$domain") return 0 ;; esac
  done
  return 1
}

while read -r first rest; do
  case $first in
    '' | *[!0-9]*) channel='' url=$first ;;
    *) channel="$first " url=${rest%% *} ;;
  esac
  authority=${url#*://}     # CONNECT sends host:port, without a scheme
  authority=${authority%%/*}
  case $authority in
    \[*\]*) host=${authority%%]*}] ;;
    *) host=${authority%:*} ;;
  esac
  if listed "$host"; then
    printf '%sOK status=302 url="%s"\n' "$channel" "$page"
  else
    printf '%sERR\n' "$channel"
  fi
done
