"""`make bench`: throughput and latency of the platform's event and HTTP paths on real Kafka and PostgreSQL."""
