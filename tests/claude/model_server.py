#!/usr/bin/env python3
"""A scripted stand-in for the Anthropic Messages API, for end-to-end tests.

Usage: model_server.py SCENARIO.json LOG.jsonl PORT_FILE

Listens on 127.0.0.1 on a free port and writes the port to PORT_FILE once it
accepts connections. Every request is appended to LOG.jsonl as one JSON
object: {"path", "kind", "body"}, where kind is "turn" for a request of the
main conversation (one that offers the Bash tool) and "other" for any other
request (title generation, quota checks and so on).

The scenario is {"turns": [TURN, ...]}. Each main-conversation request is
answered with the next TURN, in order:
  {"tool_use": {"name": "Bash", "input": {"command": "..."}}}
  {"text": "..."}
After the last turn, and for every other request, the answer is a short
text. Answers are streamed as server-sent events when the request asks for
"stream": true, else returned as one JSON message.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FALLBACK_TEXT = "Done."


class Script:
    def __init__(self, path, log_path):
        with open(path) as scenario:
            self.turns = json.load(scenario)["turns"]
        self.next_turn = 0
        self.log_path = log_path
        self.lock = threading.Lock()
        self.message_count = 0

    def take(self, body):
        """Logs BODY and returns the turn that answers it."""
        tools = [tool.get("name") for tool in body.get("tools", []) or []]
        kind = "turn" if "Bash" in tools else "other"
        with self.lock:
            self.message_count += 1
            turn = {"text": FALLBACK_TEXT}
            if kind == "turn" and self.next_turn < len(self.turns):
                turn = self.turns[self.next_turn]
                self.next_turn += 1
            with open(self.log_path, "a") as log:
                log.write(json.dumps({"kind": kind, "body": body}) + "\n")
            return turn, self.message_count


def content_blocks(turn, number):
    if "tool_use" in turn:
        tool = turn["tool_use"]
        return [{"type": "tool_use", "id": "toolu_%04d" % number,
                 "name": tool["name"], "input": tool["input"]}]
    return [{"type": "text", "text": turn["text"]}]


def stop_reason(blocks):
    if any(block["type"] == "tool_use" for block in blocks):
        return "tool_use"
    return "end_turn"


def message(body, blocks, number):
    stop = stop_reason(blocks)
    return {"id": "msg_%04d" % number, "type": "message", "role": "assistant",
            "model": body.get("model", "scripted"), "content": blocks,
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 10}}


def events(body, blocks, number):
    """Yields (event, data) pairs of a streamed answer."""
    start = message(body, [], number)
    start["stop_reason"] = None
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(blocks):
        if block["type"] == "tool_use":
            empty = dict(block, input={})
            yield "content_block_start", {"type": "content_block_start",
                                          "index": index, "content_block": empty}
            delta = {"type": "input_json_delta",
                     "partial_json": json.dumps(block["input"])}
        else:
            yield "content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "text", "text": ""}}
            delta = {"type": "text_delta", "text": block["text"]}
        yield "content_block_delta", {"type": "content_block_delta",
                                      "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    stop = stop_reason(blocks)
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": stop, "stop_sequence": None},
                            "usage": {"output_tokens": 10}}
    yield "message_stop", {"type": "message_stop"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        sys.stderr.write("model_server: " + (format % args) + "\n")

    def send_json(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send_json(404, {"type": "error", "error": {
            "type": "not_found_error", "message": "the scripted model serves POST /v1/messages only"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if not path.endswith("/v1/messages"):
            with open(self.server.script.log_path, "a") as log:
                log.write(json.dumps({"kind": "unknown", "path": self.path}) + "\n")
            self.do_GET()
            return
        body = json.loads(raw or b"{}")
        turn, number = self.server.script.take(body)
        blocks = content_blocks(turn, number)
        if not body.get("stream"):
            self.send_json(200, message(body, blocks, number))
            return

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events(body, blocks, number):
            self.wfile.write(("event: %s\ndata: %s\n\n" % (name, json.dumps(data))).encode())
            self.wfile.flush()
        self.close_connection = True


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: model_server.py SCENARIO.json LOG.jsonl PORT_FILE")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.script = Script(sys.argv[1], sys.argv[2])
    with open(sys.argv[3] + ".tmp", "w") as port_file:
        port_file.write("%d\n" % server.server_address[1])
    # The rename makes the port file appear complete or not at all.
    os.rename(sys.argv[3] + ".tmp", sys.argv[3])
    server.serve_forever()


if __name__ == "__main__":
    main()
