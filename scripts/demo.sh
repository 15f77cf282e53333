#!/usr/bin/env bash
# The main job, offline, with embedded defaults: a Tryton database with google_integration
# activated, trytond serving it, the sidecar serving that database, and the offline Google emulator
# standing in for Google with one OAuth client registered. Ctrl-C stops everything.
# Override with DEMO_DATABASE, DEMO_POSTGRES_URI, DEMO_TRYTON_PORT, DEMO_SIDECAR_PORT, DEMO_EMULATOR_PORT.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Each checkout keeps a demo database of its own (its encryption keys are its own too).
DATABASE="${DEMO_DATABASE:-google_demo_$(printf %s "$ROOT" | sha256sum | cut -c1-8)}"
POSTGRES_URI="${DEMO_POSTGRES_URI:-postgresql://postgres@127.0.0.1:5432/}"
TRYTON_PORT="${DEMO_TRYTON_PORT:-8000}"
SIDECAR_PORT="${DEMO_SIDECAR_PORT:-8765}"
EMULATOR_PORT="${DEMO_EMULATOR_PORT:-8766}"
DEMO_CLIENT_ID="demo-client.apps.googleusercontent.com"
DEMO_CLIENT_SECRET="demo-client-secret"
STATE="$ROOT/.cache/demo"
mkdir -p "$STATE" && chmod 700 "$STATE"

[[ -n "${DEMO_POSTGRES_URI:-}" ]] || bash scripts/ensure-postgres.sh
bash scripts/python-env.sh
[[ -f dist/src/cli.js ]] || npm run --silent build
# The Tryton web client (sao), served by trytond itself.
[[ -f e2e/sao/node_modules/tryton-sao/index.html ]] || (cd e2e/sao && npm ci --no-audit --no-fund)

# Secrets are made once per checkout and kept out of git (.cache/ is ignored).
if [[ ! -f "$STATE/secrets.env" ]]; then
  umask 077
  {
    echo "SIDECAR_API_KEY=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')"
    echo "SIDECAR_ENCRYPTION_KEYS=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))')"
  } > "$STATE/secrets.env"
fi
set -a; source "$STATE/secrets.env"; set +a

cat > "$STATE/trytond.conf" <<CONF
[database]
uri = $POSTGRES_URI
[bus]
allow_subscribe = True
[web]
listen = 127.0.0.1:$TRYTON_PORT
root = $ROOT/e2e/sao/node_modules/tryton-sao
[google_integration]
sidecar_url = http://127.0.0.1:$SIDECAR_PORT
sidecar_public_url = http://127.0.0.1:$SIDECAR_PORT
sidecar_api_key = $SIDECAR_API_KEY
CONF
chmod 600 "$STATE/trytond.conf"

sql() { node scripts/sql.mjs "${POSTGRES_URI%/}/$1" "$2"; }
if [[ "$(sql postgres "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]]; then
  echo "demo: creating the database $DATABASE"
  sql postgres "CREATE DATABASE \"$DATABASE\""
fi
# (Re)activate when the module is not activated yet or its files changed since the last start.
module_hash="$(cd tryton-module && find . -path ./tests -prune -o -path ./doc -prune -o -type f \( -name '*.py' -o -name '*.xml' -o -name '*.cfg' -o -name '*.po' \) -print | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
module_state="$(sql "$DATABASE" "SELECT string_agg(state, ',' ORDER BY name) FROM ir_module WHERE name IN ('google_integration', 'party')" 2>/dev/null || true)"
if [[ "$module_state" != activated,activated || "$(cat "$STATE/module.hash" 2>/dev/null)" != "$module_hash" ]]; then
  echo "demo: activating google_integration and party on $DATABASE (admin / admin); this takes a minute or two"
  printf 'admin\n' > "$STATE/admin-password"
  TRYTONPASSFILE="$STATE/admin-password" .venv/bin/trytond-admin -c "$STATE/trytond.conf" -d "$DATABASE" \
    --email admin@example.com -u google_integration party --activate-dependencies
  echo "$module_hash" > "$STATE/module.hash"
fi

EMULATOR="http://127.0.0.1:$EMULATOR_PORT"
# TRYTOND_URL: the contacts sync writes parties through the module's route, by Tryton's ORM.
export DATABASE_URI="$POSTGRES_URI" SIDECAR_DATABASES="$DATABASE" SIDECAR_PORT SIDECAR_HOST=127.0.0.1 \
  TRYTOND_URL="http://127.0.0.1:$TRYTON_PORT" \
  SIDECAR_PUBLIC_URL="http://127.0.0.1:$SIDECAR_PORT" \
  GOOGLE_AUTH_URL="$EMULATOR/o/oauth2/v2/auth" GOOGLE_TOKEN_URL="$EMULATOR/token" \
  GOOGLE_REVOKE_URL="$EMULATOR/revoke" GOOGLE_USERINFO_URL="$EMULATOR/v1/userinfo" GOOGLE_API_ROOT_URL="$EMULATOR/"
node bin/tryton-google.js migrate --database "$DATABASE"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait; exit 0' INT TERM
# -d loads the database's pool at start; without it trytond 8.0 fails the first login on it.
.venv/bin/trytond -c "$STATE/trytond.conf" -d "$DATABASE" & pids+=($!)
# Its state persists: a restart of the demo keeps every grant, token and calendar.
node bin/tryton-google.js emulator --port "$EMULATOR_PORT" --state "$STATE/emulator-state.json" \
  --client "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET:http://127.0.0.1:$SIDECAR_PORT/$DATABASE/google/callback" \
  --client "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET:http://127.0.0.1:$SIDECAR_PORT/google/callback" & pids+=($!)
node bin/tryton-google.js serve & pids+=($!)
# "ready" only once every part answers.
node scripts/wait-for.mjs "http://127.0.0.1:$TRYTON_PORT/" "http://127.0.0.1:$SIDECAR_PORT/readyz" "$EMULATOR/__emulator/stats" ||
  { kill "${pids[@]}" 2>/dev/null; exit 1; }
cat <<INFO
demo: Tryton    http://127.0.0.1:$TRYTON_PORT/  (web client) database "$DATABASE", user admin / admin
demo: sidecar   http://127.0.0.1:$SIDECAR_PORT/readyz  (API key in $STATE/secrets.env)
demo: emulator  $EMULATOR  (offline Google: open it for accounts, grants, calendars; control API under /__emulator/)
demo: in Google Integration > Credentials use client id $DEMO_CLIENT_ID, secret $DEMO_CLIENT_SECRET
demo: ready; Ctrl-C stops everything
INFO
wait -n "${pids[@]}"
kill "${pids[@]}" 2>/dev/null || true
wait
