"""The official Python SDKs against the costwise gateway, unchanged but for the base URL.

Reads GATEWAY_URL, GATEWAY_KEY and RUN from the environment; prints one JSON summary line.
"""
import json
import os
import sys

import anthropic
import openai

url = os.environ["GATEWAY_URL"]
key = os.environ["GATEWAY_KEY"]
run = os.environ["RUN"]
out = {}

oa = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)
raw = oa.chat.completions.with_raw_response.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": f"python openai {run}: name a colour"}], max_tokens=50
)
completion = raw.parse()
out["openai"] = {
    "content": completion.choices[0].message.content,
    "finish_reason": completion.choices[0].finish_reason,
    "request_id": raw.headers.get("x-costwise-request-id"),
    "served_by": raw.headers.get("x-costwise-served-by"),
}

pieces = []
for chunk in oa.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": f"python openai stream {run}: name a fruit"}], stream=True
):
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
out["openai_stream"] = {"chunks": len(pieces), "content": "".join(pieces)}

an = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=60)
message = an.messages.create(
    model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": f"python anthropic {run}: name a tree"}]
)
out["anthropic"] = {"content": message.content[0].text, "stop_reason": message.stop_reason}

with an.messages.stream(
    model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": f"python anthropic stream {run}: name a bird"}]
) as stream:
    text = "".join(stream.text_stream)
out["anthropic_stream"] = {"content": text}

try:
    openai.OpenAI(base_url=f"{url}/v1", api_key="wrong-key", max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    out["wrong_key"] = "accepted"
except openai.AuthenticationError as e:
    out["wrong_key"] = {"status": e.status_code, "type": (e.body or {}).get("type")}

weather = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather forecast for a city", "parameters": weather}}]
first = oa.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": f"python tools {run}: weather in Faro?"}], tools=tools, tool_choice="required"
)
call = first.choices[0].message.tool_calls[0]
out["tool_call"] = {
    "finish_reason": first.choices[0].finish_reason,
    "name": call.function.name,
    "has_city": "city" in json.loads(call.function.arguments),
}

answer = oa.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": f"python json {run}: forecast for Braga"}],
    response_format={"type": "json_schema", "json_schema": {"name": "forecast", "schema": weather, "strict": True}},
)
out["json_schema"] = {"keys": sorted(json.loads(answer.choices[0].message.content).keys())}

tool_use = an.messages.create(
    model="claude-haiku-4-5",
    max_tokens=512,
    messages=[{"role": "user", "content": f"python anthropic tools {run}: weather in Evora?"}],
    tools=[{"name": "get_weather", "description": "Weather forecast for a city", "input_schema": weather}],
    tool_choice={"type": "any"},
)
block = next(b for b in tool_use.content if b.type == "tool_use")
out["anthropic_tool"] = {"stop_reason": tool_use.stop_reason, "name": block.name, "has_city": "city" in block.input}

print(json.dumps(out))
sys.exit(0)
