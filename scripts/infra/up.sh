# Sourced by `make test` and `make bench`: the virtualenv, Kafka, PostgreSQL and Redis up, and where to find them.
scripts/bootstrap.sh
scripts/infra/kafka.sh install
scripts/infra/kafka.sh start
scripts/infra/postgres.sh start
scripts/infra/redis.sh start
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
export QUNYUN_TEST_POSTGRES="postgresql://qunyun:qunyun@127.0.0.1:${QUNYUN_PG_PORT:-55432}/postgres"
export QUNYUN_REDIS_URL="redis://127.0.0.1:${QUNYUN_REDIS_PORT:-6379}/0"
export REDIS_URL="$QUNYUN_REDIS_URL"
