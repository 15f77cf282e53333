#!/usr/bin/env bash
# The main job, offline, with embedded defaults: a Tryton database with google_integration
# activated, trytond serving it, the sidecar serving that database, and the offline Google emulator
# standing in for Google with one OAuth client registered. Ctrl-C stops everything, and so does any
# part stopping: scripts/supervise.mjs runs the three servers and says which part stopped and why.
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
EMULATOR="http://127.0.0.1:$EMULATOR_PORT"
mkdir -p "$STATE" && chmod 700 "$STATE"

# One demo per checkout: a second `npm start` beside a running one (even one still activating the
# module) must leave its files, database and PostgreSQL alone. Commands that may leave a process
# behind get the lock's descriptor closed (9>&-), so that only this script ever holds it.
if command -v flock >/dev/null; then
  exec 9>"$STATE/lock"
  if ! flock -n 9; then
    echo "demo: already running for this checkout (pid $(cat "$STATE/pid" 2>/dev/null || echo unknown)); this one changes nothing. Stop that one first (Ctrl-C in its terminal)" >&2
    exit 1
  fi
  echo $$ > "$STATE/pid"
fi

# The three servers, as scripts/supervise.mjs takes them: NAME PORT READY-URL COMMAND... ';'.
# The sidecar reads its settings from sidecar.env, which `tryton-google doctor --environment-file` reads too.
parts=(
  --part Tryton "$TRYTON_PORT" "http://127.0.0.1:$TRYTON_PORT/"
  # -d loads the database's pool at start; without it trytond 8.0 fails the first login on it.
  .venv/bin/trytond -c "$STATE/trytond.conf" -d "$DATABASE" ';'
  --part emulator "$EMULATOR_PORT" "$EMULATOR/__emulator/stats"
  # Its state persists: a restart of the demo keeps every grant, token and calendar.
  node bin/tryton-google.js emulator --port "$EMULATOR_PORT" --state "$STATE/emulator-state.json"
  --client "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET:http://127.0.0.1:$SIDECAR_PORT/$DATABASE/google/callback"
  --client "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET:http://127.0.0.1:$SIDECAR_PORT/google/callback" ';'
  --part sidecar "$SIDECAR_PORT" "http://127.0.0.1:$SIDECAR_PORT/readyz"
  node bin/tryton-google.js serve --environment-file "$STATE/sidecar.env" ';'
)
port_hint="choose others with DEMO_TRYTON_PORT, DEMO_SIDECAR_PORT, DEMO_EMULATOR_PORT"
# Before anything is prepared: a port held by another program fails now, not minutes later.
node scripts/supervise.mjs --check-ports --port-hint "$port_hint" "${parts[@]}"

# From here on, leaving early says at which step, and stops the project's PostgreSQL if this demo
# started it (the machine's server, or one already running, stays as it was).
step="checking PostgreSQL"
stop_postgres=0
PG_DIR="${EMBEDDED_PG_DIR:-.cache/postgres}"
embedded_running() { bash scripts/embedded-postgres.sh status >/dev/null 2>&1; }
on_exit() {
  local status=$?
  # Once the supervisor runs, it says itself which part stopped and why.
  [[ $status == 0 || -n "${supervisor:-}" ]] || echo "demo: stopped while $step (exit status $status)" >&2
  if [[ $stop_postgres == 1 ]] && embedded_running; then
    echo "demo: stopping the project's PostgreSQL ($PG_DIR), which this demo started"
    bash scripts/embedded-postgres.sh stop || true
  fi
}
trap on_exit EXIT
# A signal's exit status, not the last command's, reaches on_exit (bash would report 0).
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
pg_note="PostgreSQL at $POSTGRES_URI"
if [[ -z "${DEMO_POSTGRES_URI:-}" ]]; then
  embedded_running || stop_postgres=1
  bash scripts/ensure-postgres.sh 9>&-
  if [[ $stop_postgres == 1 ]] && embedded_running; then
    pg_note="PostgreSQL: the project's own ($PG_DIR, 127.0.0.1:5432), started by this demo: it stops with it"
  elif embedded_running; then
    pg_note="PostgreSQL: the project's own ($PG_DIR, 127.0.0.1:5432), already running: it stays (bash scripts/embedded-postgres.sh stop)"
  else
    stop_postgres=0
    pg_note="PostgreSQL: the machine's, 127.0.0.1:5432"
  fi
fi

step="preparing .venv"
bash scripts/python-env.sh
step="building the sidecar"
[[ -f dist/src/cli.js ]] || npm run --silent build
step="installing the Tryton web client"
# The Tryton web client (sao), served by trytond itself; the same install the browser test uses.
bash scripts/sao-setup.sh

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

# Everything the sidecar reads, in one file: the demo's sidecar runs from it, and
# `npx tryton-google doctor --environment-file .cache/demo/sidecar.env` checks the running demo with it
# (TRYTOND_CONFIG lets the doctor check trytond's way to the sidecar too).
# TRYTOND_URL: the contacts sync writes parties through the module's route, by Tryton's ORM.
(
  umask 077
  cat > "$STATE/sidecar.env" <<ENV
DATABASE_URI=$POSTGRES_URI
SIDECAR_DATABASES=$DATABASE
SIDECAR_HOST=127.0.0.1
SIDECAR_PORT=$SIDECAR_PORT
SIDECAR_PUBLIC_URL=http://127.0.0.1:$SIDECAR_PORT
SIDECAR_API_KEY=$SIDECAR_API_KEY
SIDECAR_ENCRYPTION_KEYS=$SIDECAR_ENCRYPTION_KEYS
TRYTOND_URL=http://127.0.0.1:$TRYTON_PORT
TRYTOND_CONFIG=$STATE/trytond.conf
GOOGLE_AUTH_URL=$EMULATOR/o/oauth2/v2/auth
GOOGLE_TOKEN_URL=$EMULATOR/token
GOOGLE_REVOKE_URL=$EMULATOR/revoke
GOOGLE_USERINFO_URL=$EMULATOR/v1/userinfo
GOOGLE_API_ROOT_URL=$EMULATOR/
ENV
)

step="preparing the database $DATABASE"
sql() { node scripts/sql.mjs "${POSTGRES_URI%/}/$1" "$2"; }
if [[ "$(sql postgres "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]]; then
  echo "demo: creating the database $DATABASE"
  sql postgres "CREATE DATABASE \"$DATABASE\""
fi
# (Re)activate when the module is not activated yet or its files changed since the last start.
module_hash="$(cd tryton-module && find . -path ./tests -prune -o -path ./doc -prune -o -type f \( -name '*.py' -o -name '*.xml' -o -name '*.cfg' -o -name '*.po' \) -print | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
module_state="$(sql "$DATABASE" "SELECT string_agg(state, ',' ORDER BY name) FROM ir_module WHERE name IN ('google_integration', 'party')" 2>/dev/null || true)"
if [[ "$module_state" != activated,activated || "$(cat "$STATE/module.hash" 2>/dev/null)" != "$module_hash" ]]; then
  step="activating google_integration and party"
  echo "demo: activating google_integration and party on $DATABASE (admin / admin); this takes a minute or two"
  printf 'admin\n' > "$STATE/admin-password"
  TRYTONPASSFILE="$STATE/admin-password" .venv/bin/trytond-admin -c "$STATE/trytond.conf" -d "$DATABASE" \
    --email admin@example.com -u google_integration party --activate-dependencies
  echo "$module_hash" > "$STATE/module.hash"
fi
# The module configuration wizard (Tryton opens it at admin's first login while an item is open) is
# marked done through Tryton's ORM, so that the first login lands on the menu.
step="closing the module configuration wizard"
if [[ "$(sql "$DATABASE" "SELECT count(*) FROM ir_module_config_wizard_item WHERE state = 'open'")" != 0 ]]; then
  .venv/bin/python - "$DATABASE" "$STATE/trytond.conf" <<'PY'
import sys

from proteus import Model, config

config.set_trytond(database=sys.argv[1], config_file=sys.argv[2])
Item = Model.get('ir.module.config_wizard.item')
items = Item.find([('state', '=', 'open')])
for item in items:
    item.state = 'done'
Item.save(items)
PY
fi

step="migrating the sidecar's tables"
# Quiet unless something is wrong: it runs at every start.
LOG_LEVEL=warn node bin/tryton-google.js migrate --environment-file "$STATE/sidecar.env" --database "$DATABASE"

cat > "$STATE/banner.txt" <<INFO
demo: Tryton    http://127.0.0.1:$TRYTON_PORT/#$DATABASE  (web client; database $DATABASE, user admin / admin)
demo: sidecar   http://127.0.0.1:$SIDECAR_PORT/readyz  (settings and API key in .cache/demo/sidecar.env;
demo:           check it all with: npx tryton-google doctor --environment-file .cache/demo/sidecar.env)
demo: emulator  $EMULATOR  (offline Google: open it for accounts, grants, calendars; control API under /__emulator/)
demo: in Google Integration > Credentials use client id $DEMO_CLIENT_ID, secret $DEMO_CLIENT_SECRET
demo: $pg_note
demo: ready; Ctrl-C stops everything
INFO

# The supervisor runs in the background so that a signal to this script reaches it at once: bash runs
# a trap only after the foreground command ends.
# --parent: with `npm start`, this script's parent is npm's `sh -c`, which a SIGTERM to npm ends
# without passing the signal on; the demo stops when it is gone.
node scripts/supervise.mjs --banner "$STATE/banner.txt" --pids "$STATE/parts.pids" --parent "$PPID" \
  --port-hint "$port_hint" "${parts[@]}" 9>&- &
supervisor=$!
trap 'kill -INT "$supervisor" 2>/dev/null || true' INT
trap 'kill -TERM "$supervisor" 2>/dev/null || true' TERM
trap 'kill -HUP "$supervisor" 2>/dev/null || true' HUP
status=0
while :; do
  wait "$supervisor" && status=0 || status=$?
  kill -0 "$supervisor" 2>/dev/null || break
done
# The supervisor removes parts.pids once every part has stopped; the file left means it was itself
# killed, and the parts (process groups of their own) would outlive it.
if [[ -s "$STATE/parts.pids" ]]; then
  echo "demo: scripts/supervise.mjs ended (status $status) before the servers it runs; stopping them" >&2
  while read -r group; do kill -TERM -- "-$group" 2>/dev/null || true; done < "$STATE/parts.pids"
  rm -f "$STATE/parts.pids"
  [[ $status != 0 ]] || status=1
fi
exit "$status"
