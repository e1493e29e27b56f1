#!/usr/bin/env bash
# The README's PostgreSQL steps, done on a throw-away cluster, then `frontdesk serve --workers 2`
# against it: a check that the guide holds (role, database it owns, migration, several workers).
#
#   deploy/postgres-trial.sh [PORT] [SECONDS]
#
# Serves the WeChat callback on 127.0.0.1:PORT (default 8080, plain mode, token "trial") until
# stopped (Ctrl-C, SIGTERM) or SECONDS have passed (default: no limit); then stops the server and
# the cluster and removes them. Needs PostgreSQL's server programs (Debian: postgresql) and the
# front desk: FRONTDESK names the command (default: frontdesk on PATH). FRONTDESK_DATA_KEYS is
# used if set, else a new key is made for the run. As root, the cluster runs as the postgres user,
# as README's `sudo -u postgres` does.
set -euo pipefail

port=${1:-8080}
lifetime=${2:-0}
here=$(cd "$(dirname "$0")/.." && pwd)
frontdesk=${FRONTDESK:-frontdesk}
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
export PATH="$pg_bin:$PATH"

folder=$(mktemp -d -t frontdesk-trial-XXXXXX)
as_postgres=()
if [ "$(id -u)" = 0 ]; then
    as_postgres=(runuser -u postgres --)
    chown postgres: "$folder"
fi
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# what `sudo -u postgres createuser …` finds by itself on a packaged server: the socket and port
export PGHOST="$folder" PGPORT="$pg_port" PGUSER=postgres
serving=""

finish() {
    trap - EXIT INT TERM
    if [ -n "$serving" ]; then
        kill -TERM "$serving" 2>/dev/null || true
        wait "$serving" 2>/dev/null || true
    fi
    "${as_postgres[@]}" pg_ctl -D "$folder/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$folder"
}
trap finish EXIT INT TERM

echo "== a throw-away cluster in $folder, port $pg_port"
# local connections trusted as Debian's peer authentication would; TCP with a password, as the front desk connects
"${as_postgres[@]}" initdb -D "$folder/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --no-sync >/dev/null
"${as_postgres[@]}" pg_ctl -D "$folder/data" -l "$folder/postgres.log" -w \
    -o "-p $pg_port -k $folder -c listen_addresses=127.0.0.1" start >/dev/null

echo "== the README's steps"
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
# createuser --pwprompt asks twice; setsid: from here, not from a terminal the script may run in
printf '%s\n%s\n' "$password" "$password" | "${as_postgres[@]}" setsid -w createuser --pwprompt frontdesk
"${as_postgres[@]}" createdb --owner=frontdesk --locale=C --template=template0 frontdesk

export FRONTDESK_DATA_KEYS=${FRONTDESK_DATA_KEYS:-$($frontdesk keys new | tail -n 1)}
cat > "$folder/config.toml" <<TOML
[server]
host = "127.0.0.1"
port = $port
pid_file = "$folder/frontdesk.pid"
[wechat]
app_id = "wxtrial"
app_secret = "trial-secret"
token = "trial"
mode = "plain"
api_base = "http://127.0.0.1:9"
[store]
url = "postgresql://frontdesk:$password@127.0.0.1:$pg_port/frontdesk"
[knowledge]
dir = "$here/knowledge"
TOML

echo "== frontdesk serve --workers 2 on http://127.0.0.1:$port/wechat"
command=($frontdesk serve --config "$folder/config.toml" --workers 2)
if [ "$lifetime" -gt 0 ]; then
    command=(timeout -s TERM "$lifetime" "${command[@]}")   # timeout passes a SIGTERM on to the server too
fi
"${command[@]}" &
serving=$!
wait "$serving"
