#!/usr/bin/env bash
# Installs the system packages the sync benchmark (bench/sync.py) compares MailMind with, when
# they are missing: Debian's isync (mbsync, an IMAP-to-maildir mirror) and maildir-utils (mu, a
# maildir indexer), and the one the search benchmark (bench/search.py) compares with: Debian's
# notmuch (a maildir search engine). The services every benchmark runs on come from
# scripts/test-deps.sh.
set -euo pipefail

missing=()
command -v mbsync >/dev/null 2>&1 || missing+=(isync)
command -v mu >/dev/null 2>&1 || missing+=(maildir-utils)
command -v notmuch >/dev/null 2>&1 || missing+=(notmuch)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "bench-deps: installing ${missing[*]} from Debian's packages" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "bench-deps: need root (or sudo) to install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
