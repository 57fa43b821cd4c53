#!/usr/bin/env bash
# Installs the system packages the test suite runs against, when they are missing:
# Debian's redis-server (the tests start their own instance on a free port), and nginx and
# openssl for the checks of the deployment's nginx configuration and the mail servers' TLS,
# Dovecot (the IMAP server the mail tests sync against), wrk for `make bench`, and Chromium (the
# browser the web client's end-to-end tests drive through Playwright; no browser downloads).
set -euo pipefail

# The mail corpora of tests/message/test_corpora.py: CPython's test_email data and SpamAssassin's.
bash "$(dirname "$0")/test-corpora.sh"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # the load generator of `make bench`
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "test-deps: installing ${missing[*]} from Debian's packages" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "test-deps: need root (or sudo) to install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system-wide redis on install; the tests use their own instances.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now redis-server nginx dovecot >/dev/null 2>&1 || true
fi
