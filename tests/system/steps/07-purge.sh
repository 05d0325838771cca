# Step 7 (the last one run): purge leaves nothing of the package behind.
step_purge() {
  local files left
  files=$(ct dpkg-query -L dhrotate | grep -v '^/\.$')
  check "7 dpkg --purge dhrotate" ct dpkg --purge dhrotate
  # Directories may be shared with other packages (systemd ships zsh
  # completions too): dpkg keeps those, and /lib is a link to usr/lib on a
  # merged-/usr system (bullseye, bookworm lists units under it); every
  # file must go, and dhrotate's own directories.
  left=$(ct sh -c 'for p in "$@"; do [ -d "$p" ] && continue; [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; ls -d /etc/dhrotate /var/lib/dhrotate /etc/systemd/system/*/dhrotate* 2>/dev/null; true' _ $files)
  [ -z "$left" ] || note "left behind: $left"
  check "7 nothing of the package left behind" test -z "$left"
}
