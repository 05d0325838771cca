#!/usr/bin/env bash
# Prints the Debian mirror this machine's own apt sources use (main, or
# with "security" the security archive), so that no script names a package
# host. deb822 sources first (Debian 12+), then the one-line format.
#
#   packaging/mirror.sh [main|security]
set -euo pipefail
want=${1:-main}
pick() {
  local uri
  uri=$(awk -v w="$1" '/^URIs:/ { for (i = 2; i <= NF; i++) if ((w == "security") == ($i ~ /security/)) { print $i; exit } }' \
          /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  if [ -z "$uri" ]; then
    uri=$(awk -v w="$1" '$1 == "deb" { u = ($2 ~ /^\[/ ? $3 : $2); if ((w == "security") == (u ~ /security/)) { print u; exit } }' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
  fi
  echo "$uri"
}
uri=$(pick "$want")
[ -n "$uri" ] || { echo "mirror.sh: no Debian $want mirror in this machine's apt sources" >&2; exit 1; }
echo "$uri"
