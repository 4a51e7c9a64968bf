#!/bin/sh
# ExaProxy `url` protocol helper: rewrite a path prefix on the same host.
# usage: url-rewrite.sh FROM-PREFIX TO-PREFIX      (e.g. /old/ /new/)
# Answers `http://<host><TO-PREFIX><rest>`: the same host with another path tells ExaProxy
# to fetch that path instead. Other requests get an empty line.
if [ $# -ne 2 ]; then
  echo 'usage: url-rewrite.sh FROM-PREFIX TO-PREFIX' >&2
  exit 2
fi
from=$1
to=$2
while read -r url client ident method rest; do
  host=${url%%/*}
  path=/${url#*/}
  case $method:$path in
    CONNECT:*) printf '\n' ;;
    *:"$from"*) printf 'http://%s%s%s\n' "$host" "$to" "${path#"$from"}" ;;
    *) printf '\n' ;;
  esac
done
