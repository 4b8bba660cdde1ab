#!/bin/sh
# Creates Temporal's two databases and brings both schemas up to the version this admin-tools image
# ships, as Temporal's own compose files do. Safe on every start: `create` keeps an existing
# database, `setup-schema -v 0.0` never lowers a version, `update-schema` applies only what is missing.
set -eu

export SQL_PLUGIN=postgres12
export SQL_HOST="${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
export SQL_PORT="${DB_PORT:-5432}"
export SQL_USER="${POSTGRES_USER:?POSTGRES_USER is required}"
export SQL_PASSWORD="${POSTGRES_PWD:?POSTGRES_PWD is required}"
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

setup_database() {
  database=$1
  schema=$2
  echo "temporal schema: ${database} (${schema})"
  temporal-sql-tool --db "$database" create
  temporal-sql-tool --db "$database" setup-schema -v 0.0
  temporal-sql-tool --db "$database" update-schema -d "${SCHEMA_ROOT}/${schema}/versioned"
}

setup_database "${DBNAME:-temporal}" temporal
setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo 'temporal schema: up to date'
