#!/bin/sh
# ExaProxy `url` protocol helper: allow everything.
# Each request line is `<host><path> <client-ip> - <METHOD> -`; an empty reply line means
# "forward unchanged". printf is unbuffered here, and `read` fails at EOF, ending the loop.
while IFS= read -r request; do
  printf '\n'
done
