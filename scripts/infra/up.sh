# Sourced by `make test` and `make bench`: the virtualenv, Kafka and PostgreSQL up, and where to find them.
scripts/bootstrap.sh
scripts/infra/kafka.sh install
scripts/infra/kafka.sh start
scripts/infra/postgres.sh start
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
export QUNYUN_TEST_POSTGRES="postgresql://qunyun:qunyun@127.0.0.1:${QUNYUN_PG_PORT:-55432}/postgres"
