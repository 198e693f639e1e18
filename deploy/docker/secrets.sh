#!/usr/bin/env bash
# Makes the compose stack's secrets, once: random values in files under
# deploy/docker/secrets/ (or $PARLEY_SECRETS_DIR), which compose.yaml hands to
# the services as /run/secrets/<name>. Never in compose.yaml or the
# environment. Existing files are kept, so running it again changes nothing.
#   deploy/docker/secrets.sh
# The directory is 0700 (only its owner on the host gets in); the files are
# world-readable because compose bind-mounts them into containers whose
# services run as their own users (parley 10001, postgres, redis, nobody).
set -euo pipefail
dir=${PARLEY_SECRETS_DIR:-$(dirname "$0")/secrets}
mkdir -p "$dir"
chmod 0700 "$dir"

make() {  # name value
  local file=$dir/$1
  if [ -s "$file" ]; then return; fi
  umask 0022
  printf '%s\n' "$2" >"$file.tmp"
  chmod 0444 "$file.tmp"
  mv "$file.tmp" "$file"
  echo "secrets: wrote $file" >&2
}
value() { sed -n '1p' "$dir/$1"; }

make jwt_secret "$(openssl rand -base64 48 | tr -d '\n')"
make metrics_token "$(openssl rand -hex 24)"
make grafana_admin_password "$(openssl rand -hex 16)"
make postgres_password "$(openssl rand -hex 24)"
make database_url "postgres://parley:$(value postgres_password)@postgres:5432/parley"
make redis_password "$(openssl rand -hex 24)"
make redis_auth "requirepass $(value redis_password)"
make redis_url "redis://:$(value redis_password)@redis:6379/0"
