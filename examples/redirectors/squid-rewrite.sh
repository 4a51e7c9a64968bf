#!/bin/sh
# Squid url_rewrite protocol helper: rewrite a path prefix.
# usage: squid-rewrite.sh FROM-PREFIX TO-PREFIX      (e.g. /old/ /new/)
# `http://host/old/x` gets `OK rewrite-url="http://host/new/x"`; anything else, CONNECT
# included, gets `ERR`. URLs holding `"` or `\` are left alone (they would need escaping).
if [ $# -ne 2 ]; then
  echo 'usage: squid-rewrite.sh FROM-PREFIX TO-PREFIX' >&2
  exit 2
fi
from=$1
to=$2
while read -r first rest; do
  case $first in
    '' | *[!0-9]*) channel='' url=$first ;;
    *) channel="$first " url=${rest%% *} ;;
  esac
  reply=ERR
  case $url in
    *[\"\\]*) ;;
    *://*/*)
      scheme=${url%%://*}
      tail=${url#*://}
      authority=${tail%%/*}
      path=/${tail#*/}
      case $path in "$from"*) reply="OK rewrite-url=\"$scheme://$authority$to${path#"$from"}\"" ;; esac
      ;;
  esac
  printf '%s%s\n' "$channel" "$reply"
done
