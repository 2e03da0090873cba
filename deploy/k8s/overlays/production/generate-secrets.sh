#!/bin/sh
# Writes secrets.env beside this script with fresh random secrets (never commit it):
#   ./generate-secrets.sh 'postgresql://povguard:<password>@povguard-rw.povguard.svc:5432/povguard'
#   (a second URL, optional: the read replica's, e.g. CloudNativePG's povguard-ro service)
# The database URL is yours (the password is the database's); the token key and the service
# account's password are generated here. An existing secrets.env is kept unless --force.
set -eu
cd "$(dirname "$0")"
force=no
if [ "${1:-}" = "--force" ]; then force=yes; shift; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 [--force] DATABASE_URL [DATABASE_REPLICA_URL]" >&2
  exit 2
fi
if [ -e secrets.env ] && [ "$force" = no ]; then
  echo "secrets.env exists: keeping it (--force replaces it)" >&2
  exit 1
fi
random() { od -An -N48 -tx1 /dev/urandom | tr -d ' \n'; }
umask 077
{
  echo "DATABASE_URL=$1"
  if [ -n "${2:-}" ]; then echo "DATABASE_REPLICA_URL=$2"; fi
  echo "POVGUARD_SECRET_KEY=$(random)"
  echo "POVGUARD_SERVICE_PASSWORD=$(random)"
} > secrets.env
echo "wrote $(pwd)/secrets.env (mode 600)"
