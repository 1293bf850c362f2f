"""A program that calls LLM APIs with Python's urllib only, configured by the environment.

Writes every response it received (status and the body's exact bytes, base64) to OUT_FILE.
    python3 urllib_client.py OUT_FILE
"""
import base64
import json
import os
import sys
import urllib.request

out_file = sys.argv[1]
openai = os.environ["OPENAI_BASE_URL"]
anthropic = os.environ["ANTHROPIC_BASE_URL"]
openai_headers = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"], "Content-Type": "application/json"}
anthropic_headers = {"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
messages = [{"role": "user", "content": "Tell me a joke"}]

calls = [
    ("chat", openai + "/chat/completions", openai_headers, {"model": "gpt-3.5-turbo-0125", "messages": messages}),
    ("chat-stream", openai + "/chat/completions", openai_headers, {"model": "gpt-4o-mini", "messages": messages, "stream": True}),
    ("messages-stream", anthropic + "/v1/messages", anthropic_headers, {"model": "claude-3-5-haiku-20241022", "max_tokens": 100, "messages": messages, "stream": True}),
]

received = []
for name, url, headers, body in calls:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request) as response:
        received.append({"name": name, "status": response.status, "body": base64.b64encode(response.read()).decode()})

with open(out_file, "w") as f:
    json.dump(received, f)
print("urllib_client: %d calls" % len(received))
