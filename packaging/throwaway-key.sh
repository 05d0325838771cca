#!/usr/bin/env bash
# Makes a throwaway archive signing key for the tests (Ed25519, valid one
# day, no passphrase) in a new GnuPG home, and prints its fingerprint:
# what packaging/apt-repo.sh takes as DHROTATE_REPO_GNUPGHOME and
# DHROTATE_REPO_KEY. Never for a real release (docs/packaging.md).
#
#   packaging/throwaway-key.sh GNUPGHOME   -> fingerprint
set -euo pipefail
home=${1:?usage: throwaway-key.sh GNUPGHOME}
mkdir -p -m 0700 "$home"
GNUPGHOME=$home gpg --batch --quiet --passphrase '' --quick-gen-key \
  "dhrotate test archive (throwaway) <archive@dhrotate.invalid>" ed25519 sign 1d 2>/dev/null
GNUPGHOME=$home gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'
