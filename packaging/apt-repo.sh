#!/usr/bin/env bash
# Builds dhrotate's signed apt repository from the per-release packages:
# one suite per Debian release (its codename), component main, the
# Release file of each suite signed (InRelease and Release.gpg), the
# archive key as a binary OpenPGP keyring and as the
# dhrotate-archive-keyring package (built here, in every suite), and one
# deb822 dhrotate-SUITE.sources per suite whose Signed-By names that key.
#
#   packaging/apt-repo.sh REPO URL SUITE=DEB[,DEB...] [SUITE=...]...
#
#   REPO   the directory to (re)write: pool/SUITE/, dists/SUITE/, the key
#          (dhrotate-archive-keyring.pgp) and the .sources files
#   URL    where REPO is published, as the .sources files name it
#          (file:///srv/dhrotate-apt in the tests)
#
# The signing key: DHROTATE_REPO_GNUPGHOME (a GnuPG home holding its
# secret part) and DHROTATE_REPO_KEY (its fingerprint). The tests make a
# throwaway one; a real release signs with the project's key, on the
# release manager's machine or a signing host (docs/packaging.md).
#
# apt-ftparchive (apt-utils), not reprepro or aptly: the repository is
# rewritten whole from the packages each release publishes, so it needs no
# database (reprepro's) and no daemon or snapshot store (aptly's), only
# Packages and Release files, which apt's own tool writes as apt reads
# them. Needs apt-utils, gpg, dpkg-dev and debhelper.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
repo=${1:?usage: apt-repo.sh REPO URL SUITE=DEB[,DEB...]...}
url=${2:?usage: apt-repo.sh REPO URL SUITE=DEB[,DEB...]...}
shift 2
[ $# -gt 0 ] || { echo "apt-repo.sh: no SUITE=DEB given" >&2; exit 2; }
: "${DHROTATE_REPO_GNUPGHOME:?apt-repo.sh: set DHROTATE_REPO_GNUPGHOME to the GnuPG home of the signing key}"
: "${DHROTATE_REPO_KEY:?apt-repo.sh: set DHROTATE_REPO_KEY to the fingerprint of the signing key}"
for tool in apt-ftparchive gpg dpkg-buildpackage; do
  command -v "$tool" >/dev/null || { echo "apt-repo.sh: $tool is missing (apt-utils, gpg, dpkg-dev)" >&2; exit 1; }
done
export GNUPGHOME=$DHROTATE_REPO_GNUPGHOME
gpg --batch --list-secret-keys "$DHROTATE_REPO_KEY" > /dev/null 2>&1 \
  || { echo "apt-repo.sh: no secret key $DHROTATE_REPO_KEY in $GNUPGHOME" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$repo"
repo=$(readlink -f "$repo")
rm -rf "$repo/pool" "$repo/dists" "$repo"/*.sources
keyring=$repo/dhrotate-archive-keyring.pgp
gpg --batch --export "$DHROTATE_REPO_KEY" > "$keyring.tmp"
mv "$keyring.tmp" "$keyring"

# The keyring package, versioned by the key's creation date, so that a
# new key is a newer package.
keydate=$(gpg --batch --with-colons --list-keys "$DHROTATE_REPO_KEY" | awk -F: '$1 == "pub" { print $6; exit }')
kver=${DHROTATE_KEYRING_VERSION:-$(date -u -d "@$keydate" +%Y.%m.%d)}
src=$work/dhrotate-archive-keyring-$kver
mkdir -p "$src/debian/source"
cp packaging/keyring/control packaging/keyring/copyright packaging/keyring/rules packaging/keyring/install "$src/debian/"
echo "3.0 (native)" > "$src/debian/source/format"
cp "$keyring" "$src/dhrotate-archive-keyring.pgp"
cat > "$src/debian/changelog" <<EOF
dhrotate-archive-keyring ($kver) unstable; urgency=medium

  * The archive key $DHROTATE_REPO_KEY.

 -- $(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Maintainer)  $(date -u -R -d "@$keydate")
EOF
(cd "$src" && SOURCE_DATE_EPOCH=$keydate dpkg-buildpackage -b -us -uc > "$work/keyring-build.log" 2>&1) \
  || { cat "$work/keyring-build.log"; echo "apt-repo.sh: building the keyring package failed" >&2; exit 1; }
keydeb=$(ls "$work"/dhrotate-archive-keyring_*_all.deb)
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$keydeb" > "$work/lintian.txt" 2>&1 \
    || { cat "$work/lintian.txt"; echo "apt-repo.sh: lintian found errors or warnings in $(basename "$keydeb")" >&2; exit 1; }
fi

for arg in "$@"; do
  suite=${arg%%=*}
  debs=${arg#*=}
  [ "$suite" != "$arg" ] && [ -n "$debs" ] || { echo "apt-repo.sh: '$arg' is not SUITE=DEB[,DEB...]" >&2; exit 2; }
  mkdir -p "$repo/pool/$suite" "$repo/dists/$suite/main/binary-amd64"
  IFS=, read -r -a list <<< "$debs"
  for deb in "${list[@]}" "$keydeb"; do
    [ -f "$deb" ] || { echo "apt-repo.sh: $deb: no such package" >&2; exit 1; }
    cp "$deb" "$repo/pool/$suite/"
  done
  (
    cd "$repo"
    apt-ftparchive packages "pool/$suite" > "dists/$suite/main/binary-amd64/Packages"
    gzip -9 -n -k "dists/$suite/main/binary-amd64/Packages"
    xz -k "dists/$suite/main/binary-amd64/Packages"
    apt-ftparchive \
      -o APT::FTPArchive::Release::Origin=dhrotate \
      -o APT::FTPArchive::Release::Label=dhrotate \
      -o "APT::FTPArchive::Release::Suite=$suite" \
      -o "APT::FTPArchive::Release::Codename=$suite" \
      -o APT::FTPArchive::Release::Architectures=amd64 \
      -o APT::FTPArchive::Release::Components=main \
      -o "APT::FTPArchive::Release::Description=dhrotate for Debian $suite" \
      release "dists/$suite" > "$work/Release"
    mv "$work/Release" "dists/$suite/Release"
    gpg --batch --yes --local-user "$DHROTATE_REPO_KEY" --digest-algo SHA512 \
      --clearsign -o "dists/$suite/InRelease" "dists/$suite/Release"
    gpg --batch --yes --local-user "$DHROTATE_REPO_KEY" --digest-algo SHA512 \
      --armor --detach-sign -o "dists/$suite/Release.gpg" "dists/$suite/Release"
  )
  cat > "$repo/dhrotate-$suite.sources" <<EOF
# dhrotate's apt repository for Debian $suite: copy to
# /etc/apt/sources.list.d/dhrotate.sources, with the key in
# /usr/share/keyrings/dhrotate-archive-keyring.pgp.
Types: deb
URIs: $url
Suites: $suite
Components: main
Architectures: amd64
Signed-By: /usr/share/keyrings/dhrotate-archive-keyring.pgp
EOF
  echo "apt-repo.sh: $suite: $(grep -c '^Package:' "$repo/dists/$suite/main/binary-amd64/Packages") packages, signed by $DHROTATE_REPO_KEY"
done
