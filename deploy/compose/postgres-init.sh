# One database per service, each owned by a login role of the same name that may connect to it and to
# nothing else (CONNECT revoked from PUBLIC; no superuser, CREATEDB or CREATEROLE): a service's
# credentials reach its own data only. Sourced by the postgres image on an empty data directory, as the
# superuser; running it again is safe and sets the passwords from the environment again.
# Keep in step with the ConfigMap in deploy/k8s/postgres.yaml (tests/deploy checks both).
set -e

service_database() { # NAME PASSWORD
  psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname postgres \
    -v name="$1" -v password="$2" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')\gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'name', :'password')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name')\gexec
SQL
}

service_database qunyun_gateway "${GATEWAY_DB_PASSWORD:?}"
service_database qunyun_member "${MEMBER_DB_PASSWORD:?}"
service_database qunyun_content "${CONTENT_DB_PASSWORD:?}"
service_database qunyun_campaign "${CAMPAIGN_DB_PASSWORD:?}"
service_database qunyun_analytics "${ANALYTICS_DB_PASSWORD:?}"
