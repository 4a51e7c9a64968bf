#!/bin/sh
# Squid url_rewrite protocol helper: allow everything.
# Request: `[channel-ID ]URL client-ip/- - METHOD myip=IP myport=PORT`; `ERR` means
# "no change". The channel-ID, sent only with concurrency > 0, is echoed back.
while read -r first rest; do
  case $first in
    '' | *[!0-9]*) printf 'ERR\n' ;;
    *) printf '%s ERR\n' "$first" ;;
  esac
done
