#!/usr/bin/env bash
# The issue-7 benchmark at one size, on a fresh PostgreSQL database (see docs/performance.md).
#   bench/run_scale.sh [size] [database]     e.g. bench/run_scale.sh default partnercredit_scale
set -euo pipefail
size=${1:-default}
db=${2:-partnercredit_scale}
cd "$(dirname "$0")/.."
export DATABASE_URL=${PGURL:-postgres://postgres@127.0.0.1:5432}/$db
psql "${PGURL:-postgres://postgres@127.0.0.1:5432}/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed_scale --size "$size"
.venv/bin/python manage.py bench --size "$size"
