#!/bin/sh
# Runs once, when the Postgres volume is first initialised: Temporal and the order system each get
# their own login role. Temporal's role may create databases because its schema job creates them.
# The order system's role is not called `orders` or `payments`: a role named like one of its schemas
# would put that schema first on the search_path, where knex would then look for its migration table.
set -eu

psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set temporal_password="$TEMPORAL_DB_PASSWORD" \
  --set orders_password="$ORDERS_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE order_system LOGIN PASSWORD :'orders_password';
CREATE DATABASE orders OWNER order_system;
SQL
