#!/usr/bin/env bash
# Check the nginx configurations with `nginx -t`:
#   deploy/nginx/mailmind.conf   TLS edge, with a self-signed certificate made for the check
#   docker/frontend/nginx.conf   web client, with ${MAILMIND_BACKEND} filled in
# Each is checked in a temporary copy whose certificate, log and web-root paths point into a
# temporary directory; nothing outside it is touched. Installs Debian's nginx when it is missing
# and this runs as root.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

if ! command -v nginx >/dev/null 2>&1 && [[ -x /usr/sbin/nginx ]]; then
  PATH=$PATH:/usr/sbin
fi
if ! command -v nginx >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "check-nginx: installing nginx" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq nginx-light >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq nginx-light; } >/dev/null 2>&1 \
      || apt-get install -y -qq nginx >/dev/null
    PATH=$PATH:/usr/sbin
  else
    echo "check-nginx: nginx is not installed (apt-get install nginx-light)" >&2
    exit 1
  fi
fi
command -v openssl >/dev/null 2>&1 || { echo "check-nginx: openssl is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# A wrapper nginx.conf around one conf.d-style file, everything under $1.
main_conf() {
  local dir=$1 include=$2
  mkdir -p "$dir/logs" "$dir/temp"
  cat >"$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events {}
http {
    include /etc/nginx/mime.types;
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    include $include;
}
EOF
}

run_check() {
  local name=$1 dir=$2
  if nginx -t -q -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf"; then
    echo "check-nginx: $name: ok"
  else
    echo "check-nginx: $name: FAILED" >&2
    return 1
  fi
}

status=0

# deploy/nginx/mailmind.conf
edge=$tmp/edge
mkdir -p "$edge/tls" "$edge/acme"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=mailmind.example.com" \
  -keyout "$edge/tls/privkey.pem" -out "$edge/tls/fullchain.pem" >/dev/null 2>&1
sed -e "s#/etc/ssl/mailmind/#$edge/tls/#g" \
    -e "s#/var/log/nginx/#$edge/logs/#g" \
    -e "s#/var/www/acme#$edge/acme#g" \
    "$repo/deploy/nginx/mailmind.conf" >"$edge/mailmind.conf"
main_conf "$edge" "$edge/mailmind.conf"
run_check deploy/nginx/mailmind.conf "$edge" || status=1

# docker/frontend/nginx.conf, as the image's entrypoint renders it.
web=$tmp/web
mkdir -p "$web"
# The only variable the template may use; anything else left as ${…} would reach nginx verbatim.
# shellcheck disable=SC2016
sed -e 's#${MAILMIND_BACKEND}#127.0.0.1:9000#g' \
    -e "s#/usr/share/nginx/html#$web/html#g" \
    "$repo/docker/frontend/nginx.conf" >"$web/frontend.conf"
# shellcheck disable=SC2016
if grep -n '\${' "$web/frontend.conf" >&2; then
  echo "check-nginx: docker/frontend/nginx.conf: unknown \${…} placeholder (above)" >&2
  status=1
fi
main_conf "$web" "$web/frontend.conf"
run_check docker/frontend/nginx.conf "$web" || status=1

exit "$status"
