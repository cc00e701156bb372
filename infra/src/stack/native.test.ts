import { describe, expect, it } from "vitest";
import { loadStackConfig } from "../config.ts";
import { clickhouseConfigXml, clickhouseUsersXml, kafkaServerProperties } from "./native.ts";
import { parseJavaVersion } from "./prereq.ts";

const config = loadStackConfig({}, "/repo");

describe("native service configuration", () => {
  it("runs Kafka as one static-quorum KRaft node on the configured ports, without topic auto-creation", () => {
    const props = Object.fromEntries(
      kafkaServerProperties(config, "/data/kafka")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    expect(props).toMatchObject({
      "process.roles": "broker,controller",
      "controller.quorum.voters": "1@127.0.0.1:19093",
      listeners: "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093",
      "advertised.listeners": "PLAINTEXT://127.0.0.1:19092",
      "log.dirs": "/data/kafka",
      "auto.create.topics.enable": "false",
      "offsets.topic.replication.factor": "1",
    });
  });

  it("runs ClickHouse on loopback, in UTC, with every path under the data dir", () => {
    const xml = clickhouseConfigXml(config, "/data/clickhouse");
    expect(xml).toContain("<http_port>18123</http_port>");
    expect(xml).toContain("<tcp_port>19000</tcp_port>");
    expect(xml).toContain("<listen_host>127.0.0.1</listen_host>");
    expect(xml).toContain("<timezone>UTC</timezone>");
    for (const m of xml.matchAll(/<(path|tmp_path|user_files_path|format_schema_path)>([^<]*)</g)) {
      expect(m[2]!.startsWith("/data/clickhouse/")).toBe(true);
    }
    expect(clickhouseUsersXml(config)).toContain("<default>");
  });

  it("escapes XML in user-supplied ClickHouse credentials", () => {
    const c = loadStackConfig({ CLICKHOUSE_PASSWORD: "a<b&c" }, "/repo");
    expect(clickhouseUsersXml(c)).toContain("<password>a&lt;b&amp;c</password>");
  });
});

describe("parseJavaVersion", () => {
  it("reads the feature release from `java -version`", () => {
    expect(parseJavaVersion('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment')).toBe(17);
    expect(parseJavaVersion('openjdk version "25" 2025-09-16')).toBe(25);
    expect(parseJavaVersion('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaVersion("command not found")).toBeUndefined();
  });
});
