"""An outside Kafka client of costwise that is not TypeScript: Confluent's Python client with its
Avro serializer, schemas taken from the registry only (nothing from this repository).

Sends a tool-calling request and a JSON-schema request to llm.requests, reads their responses from
llm.responses and prints one JSON summary line. Reads KAFKA_BROKERS, SCHEMA_REGISTRY_URL, RUN and
optionally REQUESTS_TOPIC / RESPONSES_TOPIC (default llm.requests / llm.responses) and TIMEOUT_S.
"""
import json
import os
import sys
import time

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer

brokers = os.environ["KAFKA_BROKERS"]
registry = SchemaRegistryClient({"url": os.environ["SCHEMA_REGISTRY_URL"]})
run = os.environ["RUN"]
requests_topic = os.environ.get("REQUESTS_TOPIC", "llm.requests")
responses_topic = os.environ.get("RESPONSES_TOPIC", "llm.responses")
deadline = time.time() + float(os.environ.get("TIMEOUT_S", "90"))

# The registered schema is the contract: serialize with the latest version, never register one.
request_schema = registry.get_latest_version(f"{requests_topic}-value").schema
serializer = AvroSerializer(registry, request_schema.schema_str, conf={"auto.register.schemas": False, "use.latest.version": True})
producer = SerializingProducer({"bootstrap.servers": brokers, "key.serializer": StringSerializer("utf_8"), "value.serializer": serializer, "enable.idempotence": True})
consumer = DeserializingConsumer({
    "bootstrap.servers": brokers, "group.id": f"python-client-{run}", "auto.offset.reset": "latest", "enable.auto.commit": False,
    "key.deserializer": StringDeserializer("utf_8"), "value.deserializer": AvroDeserializer(registry),
})

weather = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["city", "days"],
    "additionalProperties": False,
}


def request(request_id, text, **options):
    value = {
        "request_id": request_id, "tenant": "python-client", "use_case": "python-agent",
        "messages": [{"role": "user", "content": text, "parts": [], "tool_calls": [], "tool_call_id": None}],
        "model": "gpt-4o-mini", "max_tokens": 300, "temperature": 0.0, "context": [], "latency_class": "REALTIME",
        "deadline_ms": None, "tags": {"client": "python"}, "created_at": int(time.time() * 1000),
        "tools": [], "tool_choice": None, "parallel_tool_calls": None, "response_format": None, "stop": [], "seed": None,
        "top_p": None, "presence_penalty": None, "frequency_penalty": None, "reasoning_effort": None, "user": None,
        "metadata": {}, "pipeline": None,
    }
    value.update(options)
    return value


tool_id = f"py-{run}-tool"
json_id = f"py-{run}-json"
wanted = {tool_id, json_id}

# Subscribe (and get partitions assigned) before producing, so no response is missed.
consumer.subscribe([responses_topic])
while not consumer.assignment() and time.time() < deadline:
    consumer.poll(0.5)

producer.produce(requests_topic, key=tool_id, value=request(
    tool_id, f"{run}: what is the weather in Coimbra for 2 days?",
    tools=[{"name": "get_weather", "description": "Weather forecast for a city", "parameters": json.dumps(weather), "strict": True}],
    tool_choice={"mode": "required", "name": None},
))
producer.produce(requests_topic, key=json_id, value=request(
    json_id, f"{run}: forecast for Aveiro",
    response_format={"type": "json_schema", "name": "forecast", "schema": json.dumps(weather), "strict": True},
))
producer.flush(30)

responses = {}
while wanted - responses.keys() and time.time() < deadline:
    msg = consumer.poll(1.0)
    if msg is None or msg.error():
        continue
    value = msg.value()
    if value and value["request_id"] in wanted:
        responses[value["request_id"]] = value
consumer.close()

out = {}
tool = responses.get(tool_id)
if tool:
    calls = tool.get("tool_calls") or []
    out["tool"] = {
        "status": tool["status"], "finish_reason": tool.get("finish_reason"), "error": tool.get("error"),
        "calls": [{"name": c["name"], "arguments": json.loads(c["arguments"])} for c in calls],
    }
answer = responses.get(json_id)
if answer:
    parsed = None
    try:
        parsed = json.loads(answer["content"] or "")
    except ValueError:
        pass
    out["json"] = {"status": answer["status"], "error": answer.get("error"), "parsed": parsed}
print(json.dumps(out))
sys.exit(0 if len(out) == 2 else 1)
