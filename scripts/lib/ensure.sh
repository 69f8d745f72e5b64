# Shared set-up steps for scripts/start and scripts/test. Each step checks first and installs
# only what is missing, so running a script twice does no extra work.
# shellcheck shell=bash

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() {
  printf '\033[1m==> %s\033[0m\n' "$*"
}

die() {
  echo "error: $*" >&2
  exit 1
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "'$*' needs root; run it as root or install sudo"
  fi
}

ensure_cargo() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust with rustup (https://rustup.rs) first"
}

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "Adding the Rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

# wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock.
ensure_wasm_bindgen() {
  local locked installed
  locked="$(awk '/^name = "wasm-bindgen"$/ { found = 1; next } found && /^version = / { gsub(/"/, "", $3); print $3; exit }' "$root/Cargo.lock")"
  [[ -n "$locked" ]] || die "Cargo.lock has no wasm-bindgen entry"
  installed="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
  if [[ "$installed" != "$locked" ]]; then
    say "Installing wasm-bindgen-cli $locked (a few minutes, once)"
    # Without --locked: the CLI's own lockfile does not resolve on current registries.
    cargo install wasm-bindgen-cli --version "$locked"
  fi
}

# Installs Debian packages that are not installed yet.
ensure_apt_packages() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]})); then
    say "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 when they are not running,
# installing them from Debian first if needed. Tests create their own databases and queues.
ensure_services() {
  if ! port_open 5432; then
    command -v pg_ctlcluster >/dev/null 2>&1 || ensure_apt_packages postgresql
    say "Starting PostgreSQL"
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  if ! port_open 6379; then
    command -v redis-server >/dev/null 2>&1 || ensure_apt_packages redis-server
    say "Starting Redis"
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  fi
  for _ in $(seq 1 50); do
    port_open 5432 && port_open 6379 && break
    sleep 0.2
  done
  port_open 5432 || die "PostgreSQL is not reachable on 127.0.0.1:5432; start it or check its logs"
  port_open 6379 || die "Redis is not reachable on 127.0.0.1:6379; start it or check its logs"
  # The tests connect as the postgres role without a password (trust or peer for local TCP).
  psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1 \
    || die "cannot connect to PostgreSQL as postgres@127.0.0.1 without a password; set TAYORI_TEST_POSTGRES_URL"
}

# Drops the databases that earlier test runs created (one per test), so that they do not pile up.
drop_test_databases() {
  local databases
  databases="$(psql -h 127.0.0.1 -U postgres -d postgres -Atc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'tayori\_test\_%' OR datname LIKE 'tayori\_e2e\_%' OR datname LIKE 'tayori\_bench\_%'")"
  [[ -n "$databases" ]] || return 0
  say "Dropping $(wc -l <<<"$databases") databases left by earlier test runs"
  while read -r database; do
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$database\"" >/dev/null
  done <<<"$databases"
}
