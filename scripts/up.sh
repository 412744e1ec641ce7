#!/usr/bin/env bash
# up: the whole platform on this machine, with no root and no system service. Starts the Temporal
# dev server (SQLite under .data/), PostgreSQL as PGlite served over the Postgres protocol (unless
# DATABASE_URL is set), applies migrations, then runs the API and the workers until Ctrl-C, which
# stops everything in order. Idempotent: a second run reuses node_modules, tools, the build, data
# and keys. Every process runs the compiled JavaScript in dist/ on the pinned Node.js, as production does.
#
# Overrides (environment): PORT (API, 3000), TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233),
# TEMPORAL_UI_CODEC_PORT (8234: the UI's codec proxy), PGLITE_PORT (5433), WORKER_METRICS_PORT (9464; the billing worker's BILLING_WORKER_METRICS_PORT, 9465; the serving worker's SERVING_WORKER_METRICS_PORT, 9466), SIMULATOR_PORT (4000: the model-server simulator),
# STRIPE_MOCK_PORT (12111, and the next two ports: stripe-mock, unless STRIPE_SECRET_KEY is set),
# DATABASE_URL (+ DATABASE_MIGRATION_URL) to use a real PostgreSQL, REDIS_URL to use Redis (otherwise limits and caches are in-process: one
# instance only), and any variable from .env.example.
# VLINDERS_SERVING=ray serves the models with Ray Serve + vLLM on CPU instead of the simulator: a Ray
# head node (its ports: RAY_DASHBOARD_PORT 8265, RAY_SERVE_PORT 8000, RAY_METRICS_PORT 8080,
# RAY_GCS_PORT 6380, RAY_CLIENT_PORT 10001, RAY_AGENT_PORT 52365) with deploy/ray/cpu.yaml deployed
# and its models registered (tiny-chat, minilm); installs the serving stack first (scripts/serving/
# install.sh: about 6 GB once per machine), and loading the models takes minutes on CPU.
set -euo pipefail
# Job control: every service gets its own process group, so Ctrl-C reaches only this script,
# which then stops the services in order (API and workers before the databases they use).
set -m

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
data="$root/.data"
logs="$data/logs"
mkdir -p "$logs"
started_ns=$(date +%s%N)
: >"$logs/up.log"

say() { printf 'up: %s\n' "$*"; }
# Start-up timings, for finding what makes a start slow.
mark() { printf '%6d ms  %s  %s\n' $((($(date +%s%N) - started_ns) / 1000000)) "$(date -u +%T.%3N)" "$*" >>"$logs/up.log"; }
die() { printf 'up: %s\n' "$*" >&2; exit 1; }

# One instance at a time: a second one would find every port taken anyway, but say why.
pidfile="$data/up.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  die "already running (pid $(cat "$pidfile")); stop it with Ctrl-C in its terminal or: kill $(cat "$pidfile")"
fi

api_port="${PORT:-3000}"
temporal_port="${TEMPORAL_PORT:-7233}"
temporal_ui_port="${TEMPORAL_UI_PORT:-8233}"
temporal_ui_codec_port="${TEMPORAL_UI_CODEC_PORT:-8234}"
pglite_port="${PGLITE_PORT:-5433}"
vectors_pglite_port="${VECTORS_PGLITE_PORT:-5434}"
worker_metrics_port="${WORKER_METRICS_PORT:-9464}"
billing_metrics_port="${BILLING_WORKER_METRICS_PORT:-9465}"
serving_metrics_port="${SERVING_WORKER_METRICS_PORT:-9466}"
simulator_port="${SIMULATOR_PORT:-4000}"
stripe_mock_port="${STRIPE_MOCK_PORT:-12111}"
serving="${VLINDERS_SERVING:-simulator}"
case "$serving" in simulator | ray) ;; *) die "VLINDERS_SERVING must be simulator or ray, not '$serving'" ;; esac
ray_dashboard_port="${RAY_DASHBOARD_PORT:-8265}"
ray_serve_port="${RAY_SERVE_PORT:-8000}"
ray_metrics_port="${RAY_METRICS_PORT:-8080}"
ray_gcs_port="${RAY_GCS_PORT:-6380}"
ray_client_port="${RAY_CLIENT_PORT:-10001}"
ray_agent_port="${RAY_AGENT_PORT:-52365}"

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
require_free() { # port what variable
  if port_taken "$1"; then die "port $1 ($2) is already in use; stop what holds it or set $3 to another port"; fi
}
require_free "$api_port" "API" PORT
require_free "$temporal_port" "Temporal frontend" TEMPORAL_PORT
require_free "$temporal_ui_port" "Temporal UI" TEMPORAL_UI_PORT
require_free "$temporal_ui_codec_port" "Temporal UI codec proxy" TEMPORAL_UI_CODEC_PORT
require_free "$worker_metrics_port" "worker metrics" WORKER_METRICS_PORT
require_free "$billing_metrics_port" "billing worker metrics" BILLING_WORKER_METRICS_PORT
require_free "$serving_metrics_port" "serving worker metrics" SERVING_WORKER_METRICS_PORT
if [ "$serving" = ray ]; then
  require_free "$ray_dashboard_port" "Ray dashboard" RAY_DASHBOARD_PORT
  require_free "$ray_serve_port" "Ray Serve" RAY_SERVE_PORT
  require_free "$ray_metrics_port" "Ray metrics" RAY_METRICS_PORT
  require_free "$ray_gcs_port" "Ray GCS" RAY_GCS_PORT
  require_free "$ray_client_port" "Ray client server" RAY_CLIENT_PORT
  require_free "$ray_agent_port" "Ray dashboard agent" RAY_AGENT_PORT
else
  require_free "$simulator_port" "model-server simulator" SIMULATOR_PORT
fi
[ -n "${DATABASE_URL:-}" ] || require_free "$pglite_port" "embedded PostgreSQL" PGLITE_PORT
[ -n "${QDRANT_URL:-}${VECTOR_DATABASE_URL:-}" ] ||
  require_free "$vectors_pglite_port" "embedded vector store" VECTORS_PGLITE_PORT
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
  require_free "$stripe_mock_port" "stripe-mock" STRIPE_MOCK_PORT
  require_free "$((stripe_mock_port + 1))" "stripe-mock (behind its account proxy)" STRIPE_MOCK_PORT
  require_free "$((stripe_mock_port + 2))" "stripe-mock (https)" STRIPE_MOCK_PORT
fi

# --- dependencies: the pinned Node.js first on PATH, npm ci only when node_modules is missing or
# package-lock.json changed, and the compiled build (dist/) that every process below runs --------
# shellcheck source=use-node.sh
source scripts/use-node.sh
bash scripts/ensure-node-modules.sh
mark "dependencies checked"
bash scripts/build.sh
mark "build checked"
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then bash scripts/install-tools.sh temporal stripe-mock; else bash scripts/install-tools.sh temporal; fi
if [ "$serving" = ray ]; then bash scripts/serving/install.sh; fi
mark "tools checked"

# --- secrets: generated once, reused afterwards -------------------------------------------------
upenv="$data/up.env"
if [ ! -f "$upenv" ]; then
  umask 077
  master_key="$(node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64'))")"
  printf '# Generated by scripts/up.sh on first run; delete to rotate (existing encrypted data becomes unreadable).\nMASTER_KEY=%s\n' "$master_key" >"$upenv"
  umask 022
  say "generated $upenv (MASTER_KEY)"
fi
# The Stripe webhook signing secret of this installation (Stripe shows its own when you register the
# endpoint with real Stripe: set STRIPE_WEBHOOK_SECRET to that).
if ! grep -q '^STRIPE_WEBHOOK_SECRET=' "$upenv"; then
  printf 'STRIPE_WEBHOOK_SECRET=whsec_%s\n' "$(node -e "process.stdout.write(require('node:crypto').randomBytes(24).toString('hex'))")" >>"$upenv"
fi
# The local operator account (scripts/temporal-ui-codec.ts signs in as it to decode payloads for the
# Temporal UI; sign in with it to use the operator routes).
operator_email="operator@vlinders.localhost"
if ! grep -q '^UP_OPERATOR_PASSWORD=' "$upenv"; then
  printf 'UP_OPERATOR_PASSWORD=%s\n' "$(node -e "process.stdout.write(require('node:crypto').randomBytes(18).toString('base64url'))")" >>"$upenv"
fi
# A MASTER_KEY from the environment wins over the generated one.
saved_master_key="${MASTER_KEY:-}" saved_webhook_secret="${STRIPE_WEBHOOK_SECRET:-}"
set -a
# shellcheck source=/dev/null
source "$upenv"
set +a
[ -z "$saved_master_key" ] || MASTER_KEY="$saved_master_key"
[ -z "$saved_webhook_secret" ] || STRIPE_WEBHOOK_SECRET="$saved_webhook_secret"

# --- process supervision ---------------------------------------------------------------------
services=() # "name:pid", in start order
stop_all() {
  trap - INT TERM EXIT
  local i entry name pid
  if [ ${#services[@]} -gt 0 ]; then say "stopping"; fi
  # Reverse start order: API and workers drain first, then the servers they depend on.
  for ((i = ${#services[@]} - 1; i >= 0; i--)); do
    entry="${services[$i]}"; name="${entry%%:*}"; pid="${entry##*:}"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name did not stop within 15 s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -f "$pidfile"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT
echo $$ >"$pidfile"

start() { # name command...  (output to .data/logs/<name>.log)
  local name="$1"; shift
  "$@" </dev/null >"$logs/$name.log" 2>&1 &
  services+=("$name:$!")
}
alive() { kill -0 "$1" 2>/dev/null; }
last_pid() { local entry="${services[${#services[@]} - 1]}"; echo "${entry##*:}"; }
fail_with_log() { # name message
  say "$2; last lines of $logs/$1.log:"
  tail -n 20 "$logs/$1.log" >&2 || true
  exit 1
}
wait_until() { # name pid seconds probe...
  local name="$1" pid="$2" seconds="$3"; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    alive "$pid" || fail_with_log "$name" "$name exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || fail_with_log "$name" "$name was not ready within ${seconds} s"
    sleep 0.2
  done
}

# --- Ray head node (VLINDERS_SERVING=ray): started first, since loading the models takes longest --
if [ "$serving" = ray ]; then
  # Short: Ray puts unix sockets under it, and their paths may not exceed 107 bytes.
  ray_temp="/tmp/vl-up-$(id -u)-$ray_gcs_port"
  # ray-head.sh takes the whole cluster down (Ray's workers leave the process group) when this
  # script ends or stops it.
  RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0 start ray bash test/support/ray-head.sh "$$" "$ray_temp" \
    "$root/.tools/serving/bin/ray" start --head --block --node-ip-address=127.0.0.1 \
    --num-cpus=8 --num-gpus=0 --port="$ray_gcs_port" --ray-client-server-port="$ray_client_port" \
    --dashboard-agent-listen-port="$ray_agent_port" --min-worker-port=0 --max-worker-port=0 \
    --dashboard-host=127.0.0.1 --dashboard-port="$ray_dashboard_port" \
    --metrics-export-port="$ray_metrics_port" --temp-dir="$ray_temp" --disable-usage-stats
  ray_pid="$(last_pid)"
fi

# --- Temporal dev server -----------------------------------------------------------------------
export TEMPORAL_ADDRESS="127.0.0.1:$temporal_port" TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-vlinders}"
export TEMPORAL_UI_ORIGIN="${TEMPORAL_UI_ORIGIN:-http://localhost:$temporal_ui_port}"
start temporal "$root/.tools/bin/temporal" server start-dev \
  --db-filename "$data/temporal.db" --ip 127.0.0.1 --port "$temporal_port" \
  --ui-port "$temporal_ui_port" --ui-disable-news-fetch \
  --ui-codec-endpoint "http://localhost:$temporal_ui_codec_port" \
  --namespace "$TEMPORAL_NAMESPACE" --search-attribute VlindersOrgId=Keyword \
  --log-level warn
temporal_pid="$(last_pid)"

# --- PostgreSQL: PGlite unless a server is configured --------------------------------------------
if [ -z "${DATABASE_URL:-}" ]; then
  start postgres node dist/scripts/pglite-server.js \
    --data "$data/pglite" --host 127.0.0.1 --port "$pglite_port" --max-connections 32
  postgres_pid="$(last_pid)"
  # PGlite's only login is a superuser: migrations run as it, the app connections SET ROLE to
  # vlinders_app (neither owner nor BYPASSRLS), so row-level security applies to them.
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pglite_port/postgres"
  export DATABASE_MIGRATION_URL="$DATABASE_URL" DATABASE_APP_ROLE="${DATABASE_APP_ROLE:-vlinders_app}"
  # Both processes' pools share the embedded server's 32 connections.
  export DATABASE_POOL_SIZE="${DATABASE_POOL_SIZE:-8}"
  postgres_desc="PGlite (embedded), data in .data/pglite"
  wait_until postgres "$postgres_pid" 120 grep -q 'ready at' "$logs/postgres.log"
  mark "postgres (PGlite) ready"
else
  postgres_desc="$(printf '%s' "$DATABASE_URL" | sed -E 's#//[^@/]*@#//***@#')"
fi

# --- The vector store: Qdrant or a pgvector database when configured, else pgvector in PGlite -----
# Served over the wire, so the API (search) and the tenants worker (ingestion, erasure) share it.
if [ -z "${QDRANT_URL:-}${VECTOR_DATABASE_URL:-}" ]; then
  start vectors node dist/scripts/pglite-server.js --pgvector \
    --data "$data/vectors" --host 127.0.0.1 --port "$vectors_pglite_port" --max-connections 16
  vectors_pid="$(last_pid)"
  export VECTOR_DATABASE_URL="postgres://postgres@127.0.0.1:$vectors_pglite_port/postgres"
  wait_until vectors "$vectors_pid" 120 grep -q 'ready at' "$logs/vectors.log"
  mark "vector store (pgvector in PGlite) ready"
  vectors_desc="pgvector in PGlite (embedded), data in .data/vectors"
elif [ -n "${QDRANT_URL:-}" ]; then
  vectors_desc="Qdrant $QDRANT_URL"
else
  vectors_desc="pgvector $(printf '%s' "$VECTOR_DATABASE_URL" | sed -E 's#//[^@/]*@#//***@#')"
fi

wait_until temporal "$temporal_pid" 60 "$root/.tools/bin/temporal" operator namespace describe \
  --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE"

mark "temporal ready"
say "applying migrations"
node dist/db/migrate.js >"$logs/migrate.log" 2>&1 || fail_with_log migrate "migrations failed"
mark "migrations applied"

# --- Model server: Ray Serve + vLLM (VLINDERS_SERVING=ray), or the simulator --------------------
if [ "$serving" = ray ]; then
  # The CPU profile deployed and its models registered in the background (minutes): the rest starts
  # meanwhile, and the summary waits for it.
  wait_until ray "$ray_pid" 180 curl -fsS "http://127.0.0.1:$ray_dashboard_port/api/serve/applications/"
  mark "ray head ready"
  say "deploying deploy/ray/cpu.yaml to Ray Serve (loading the models takes minutes on CPU)"
  node dist/scripts/serving-up.js --dashboard "http://127.0.0.1:$ray_dashboard_port" \
    --serve-url "http://127.0.0.1:$ray_serve_port" --profile deploy/ray/cpu.yaml \
    --models-dir "$(readlink -f "$root/.tools/serving-models")" >"$logs/serving-up.log" 2>&1 &
  serving_up_pid=$!
  # Vector stores embed with the profile's embedding model unless told otherwise.
  export VECTOR_EMBEDDING_MODEL="${VECTOR_EMBEDDING_MODEL:-minilm}"
  model_server_desc="Ray Serve + vLLM on CPU (deploy/ray/cpu.yaml) http://127.0.0.1:$ray_serve_port, dashboard http://127.0.0.1:$ray_dashboard_port, metrics http://127.0.0.1:$ray_metrics_port/metrics"
else
  # The simulator (a stand-in for Ray Serve + vLLM, named as such). It is registered as the models
  # sim-chat and sim-embed only while the model registry is empty; an operator's real deployments
  # (POST /api/admin/models) are never touched.
  start simulator node dist/simulator/main.js --port "$simulator_port" --models sim-chat,sim-embed
  simulator_pid="$(last_pid)"
  wait_until simulator "$simulator_pid" 60 curl -fsS "http://127.0.0.1:$simulator_port/health"
  node dist/scripts/seed-simulator-models.js --url "http://127.0.0.1:$simulator_port" \
    >"$logs/seed-simulator.log" 2>&1 || fail_with_log seed-simulator "registering the simulator's models failed"
  model_server_desc="simulator (a stand-in for vLLM) http://127.0.0.1:$simulator_port: $(cat "$logs/seed-simulator.log")"
  mark "simulator ready"
fi

# --- Stripe: stripe-mock (Stripe's own stand-in, named as such) unless a real key is configured --
# stripe-mock is stateless; a small proxy in front of it (simulator/stripe-account-main.ts) makes it
# act as one Stripe account: the plan catalog's prices by lookup key, a fresh id per new customer.
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
  start stripe-mock "$root/.tools/bin/stripe-mock" -http-port "$((stripe_mock_port + 1))" -https-port "$((stripe_mock_port + 2))"
  stripe_pid="$(last_pid)"
  start stripe-account node dist/simulator/stripe-account-main.js \
    --upstream "http://127.0.0.1:$((stripe_mock_port + 1))" --port "$stripe_mock_port"
  stripe_account_pid="$(last_pid)"
  export STRIPE_SECRET_KEY=sk_test_vlinders STRIPE_API_URL="http://127.0.0.1:$stripe_mock_port"
  wait_until stripe-mock "$stripe_pid" 60 curl -fsS -u "$STRIPE_SECRET_KEY:" "http://127.0.0.1:$((stripe_mock_port + 1))/v1/customers"
  wait_until stripe-account "$stripe_account_pid" 60 curl -fsS -u "$STRIPE_SECRET_KEY:" "$STRIPE_API_URL/v1/customers"
  stripe_desc="stripe-mock (a stand-in for Stripe) $STRIPE_API_URL"
  mark "stripe-mock ready"
else
  stripe_desc="${STRIPE_API_URL:-Stripe}"
fi

# --- API and workers ---------------------------------------------------------------------------
export PORT="$api_port" WORKER_METRICS_PORT="$worker_metrics_port"
export PUBLIC_URL="${PUBLIC_URL:-http://localhost:$api_port}"
start api node dist/api/server.js
api_pid="$(last_pid)"
start workers node dist/workers/main.js
workers_pid="$(last_pid)"
WORKER_METRICS_PORT="$billing_metrics_port" start billing-worker node dist/workers/billing.js
billing_worker_pid="$(last_pid)"
# The serving workflows: each Ray Serve cluster's config writer, rollouts, capacity loops.
WORKER_METRICS_PORT="$serving_metrics_port" start serving-worker node dist/workers/serving.js
serving_worker_pid="$(last_pid)"
# The hourly billing run (a Temporal Schedule), created or brought up to the config.
node dist/scripts/ensure-schedules.js >"$logs/schedules.log" 2>&1 || fail_with_log schedules "creating the schedules failed"
# Usage events go through a Redis stream when Redis is configured; without it the API writes them itself.
usage_desc="buffered by the API and written to Postgres in batches (no Redis)"
if [ -n "${REDIS_URL:-}" ]; then
  start usage-ingest node dist/workers/usage-ingest/main.js
  usage_desc="Redis stream ${USAGE_STREAM:-vlinders:usage}, moved to Postgres by usage-ingest"
fi

wait_until api "$api_pid" 120 curl -fsS "http://127.0.0.1:$api_port/readyz"
ready_ms=$((($(date +%s%N) - started_ns) / 1000000))
mark "api ready"
# The Temporal UI has no sign-in here: its codec requests go through a loopback proxy that holds the
# local operator's session (production: the UI signs in with OIDC, docs/operations.md).
start temporal-ui-codec node dist/scripts/temporal-ui-codec.js --api "http://127.0.0.1:$api_port" \
  --ui-origin "$TEMPORAL_UI_ORIGIN" --email "$operator_email" --port "$temporal_ui_codec_port"
temporal_ui_codec_pid="$(last_pid)"
wait_until temporal-ui-codec "$temporal_ui_codec_pid" 60 grep -q 'codec proxy' "$logs/temporal-ui-codec.log"
mark "temporal ui codec proxy ready"
# The workers are ready when this process polls its task queue (temporal.config.ts taskQueues).
worker_polls() {
  "$root/.tools/bin/temporal" task-queue describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
    --task-queue vlinders-tenants -o json | grep -q "\"identity\": \"$workers_pid@"
}
wait_until workers "$workers_pid" 180 worker_polls
billing_worker_polls() {
  "$root/.tools/bin/temporal" task-queue describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
    --task-queue vlinders-billing -o json | grep -q "\"identity\": \"$billing_worker_pid@"
}
wait_until billing-worker "$billing_worker_pid" 180 billing_worker_polls
serving_worker_polls() {
  "$root/.tools/bin/temporal" task-queue describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
    --task-queue vlinders-serving -o json | grep -q "\"identity\": \"$serving_worker_pid@"
}
wait_until serving-worker "$serving_worker_pid" 180 serving_worker_polls
mark "workers polling"
all_ms=$((($(date +%s%N) - started_ns) / 1000000))
serving_desc=""
if [ "$serving" = ray ]; then
  say "waiting for Ray Serve to load the models (see $logs/serving-up.log)"
  wait "$serving_up_pid" || fail_with_log serving-up "deploying the serving profile failed"
  model_server_desc="$model_server_desc
$(sed 's/^/                   /' "$logs/serving-up.log")"
  mark "serving ready"
  serving_ms=$((($(date +%s%N) - started_ns) / 1000000))
  serving_desc=", models in $((serving_ms / 1000)).$((serving_ms % 1000 / 100)) s"
fi

cat <<EOF

Vlinders is up (API ready in $((ready_ms / 1000)).$((ready_ms % 1000 / 100)) s, workers in $((all_ms / 1000)).$((all_ms % 1000 / 100)) s$serving_desc)
  API              http://localhost:$api_port
  API docs         http://localhost:$api_port/docs
  OpenAPI          http://localhost:$api_port/openapi.json
  API metrics      http://localhost:$api_port/metrics
  Worker metrics   http://localhost:$worker_metrics_port/metrics (billing worker: $billing_metrics_port, serving worker: $serving_metrics_port)
  Temporal UI      http://localhost:$temporal_ui_port/namespaces/$TEMPORAL_NAMESPACE/workflows (payloads decoded through http://localhost:$temporal_ui_codec_port)
  Operator         $operator_email, password UP_OPERATOR_PASSWORD in $upenv
  Temporal         $TEMPORAL_ADDRESS (namespace $TEMPORAL_NAMESPACE)
  PostgreSQL       $postgres_desc
  Vector store     $vectors_desc
  Redis            ${REDIS_URL:-none: limits and caches are in-process (single instance only)}
  Inference API    http://localhost:$api_port/v1 (OpenAI-compatible; an API key of an org)
  Model server     $model_server_desc
  Usage            $usage_desc
  Stripe           $stripe_desc; webhooks at http://localhost:$api_port/webhooks/stripe
  Billing          hourly schedule billing-hourly (Temporal UI: Schedules), task queue vlinders-billing
  Logs             $logs/
Ctrl-C stops everything.
EOF

# Run until Ctrl-C, or until a service exits on its own (then stop the rest and say which).
while true; do
  wait -n || true
  for entry in "${services[@]}"; do
    pid="${entry##*:}"
    if ! alive "$pid"; then fail_with_log "${entry%%:*}" "${entry%%:*} stopped unexpectedly"; fi
  done
done
