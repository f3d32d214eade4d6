#!/bin/sh
# Run a manage.py command the way the services run: as their user, with their environment.
#
#   deploy/manage.sh migrate --noinput
#   deploy/manage.sh check --deploy
#
# LOYALTY_ENV_FILE (default /etc/loyalty/env) and LOYALTY_USER (default loyalty) say otherwise.
# The file is read by sh here and by systemd's EnvironmentFile= in the units: one KEY=value a
# line, and a value with spaces or any of & ; $ ` " in single quotes.
set -eu
env_file="${LOYALTY_ENV_FILE:-/etc/loyalty/env}"
user="${LOYALTY_USER:-loyalty}"
case "$env_file" in /*) ;; *) env_file="$PWD/$env_file" ;; esac
cd "$(dirname "$0")/.."
run='set -a; . "$0"; set +a; exec .venv/bin/python manage.py "$@"'
if [ "$(id -un)" = "$user" ]; then
    exec sh -c "$run" "$env_file" "$@"
fi
# sudo starts from a clean environment: the file alone decides, as it does for the services.
exec sudo -u "$user" sh -c "$run" "$env_file" "$@"
