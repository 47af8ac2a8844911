-- One database per service; run once by the postgres image on an empty data directory.
-- Keep in step with the ConfigMap in deploy/k8s/postgres.yaml (tests/deploy checks both).
CREATE DATABASE qunyun_gateway;
CREATE DATABASE qunyun_member;
CREATE DATABASE qunyun_content;
CREATE DATABASE qunyun_campaign;
CREATE DATABASE qunyun_analytics;
