import type { ServiceName } from "../config.ts";

/**
 * The container form of the stack, shared by docker-compose.yml (checked against this table by a
 * unit test) and the testcontainers mode. Host ports equal the native defaults, so every mode
 * serves the same endpoints. The emulator always runs natively (node), so it has no container.
 */
export interface ContainerSpec {
  /** Service name in docker-compose.yml. */
  readonly composeService: string;
  readonly image: string;
  /** host → container */
  readonly ports: readonly { readonly host: number; readonly container: number }[];
  readonly environment: Readonly<Record<string, string>>;
  /** Overrides the image's command. */
  readonly command?: readonly string[];
  /** Shell command run inside the container; exit 0 = healthy. */
  readonly healthcheck: string;
}

export type ContainerService = Exclude<ServiceName, "emulator">;

export const containerSpecs: Record<ContainerService, ContainerSpec> = {
  kafka: {
    composeService: "kafka",
    image: "apache/kafka:4.1.1",
    // The broker listens on 19092 inside the container too, so the advertised localhost:19092
    // is right for clients on the host and for the healthcheck inside the container.
    ports: [{ host: 19092, container: 19092 }],
    environment: {
      CLUSTER_ID: "Y29zdHdpc2Uta2Fma2EtMQ",
      KAFKA_NODE_ID: "1",
      KAFKA_PROCESS_ROLES: "broker,controller",
      KAFKA_LISTENERS: "PLAINTEXT://:19092,CONTROLLER://:9093",
      KAFKA_ADVERTISED_LISTENERS: "PLAINTEXT://localhost:19092",
      KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
      KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      KAFKA_INTER_BROKER_LISTENER_NAME: "PLAINTEXT",
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: "1",
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
      KAFKA_LOG_DIRS: "/var/lib/kafka/data",
    },
    healthcheck: "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:19092 >/dev/null 2>&1",
  },
  "schema-registry": {
    composeService: "apicurio",
    image: "apicurio/apicurio-registry:3.3.3",
    ports: [{ host: 18081, container: 8080 }],
    environment: {
      // On disk inside the container (which keeps its filesystem across stop/start): schema
      // ids must outlive a registry restart while Kafka still holds records that use them.
      APICURIO_DATASOURCE_URL: "jdbc:h2:file:/tmp/apicurio/registry",
      QUARKUS_HTTP_ACCESS_LOG_ENABLED: "false",
    },
    healthcheck: "curl -fsS http://localhost:8080/apis/ccompat/v7/subjects >/dev/null",
  },
  redis: {
    composeService: "redis",
    image: "redis:7.4",
    ports: [{ host: 16379, container: 6379 }],
    environment: {},
    // Append-only persistence, like the native server.
    command: ["redis-server", "--appendonly", "yes"],
    healthcheck: "redis-cli ping | grep -q PONG",
  },
  clickhouse: {
    composeService: "clickhouse",
    image: "clickhouse/clickhouse-server:25.8",
    ports: [
      { host: 18123, container: 8123 },
      { host: 19000, container: 9000 },
    ],
    environment: {
      TZ: "UTC",
      // The image otherwise locks the password-less `default` user to connections from inside
      // the container; the local stack uses it from the host.
      CLICKHOUSE_SKIP_USER_SETUP: "1",
    },
    healthcheck: "clickhouse-client --query 'SELECT 1' >/dev/null",
  },
};
