#!/usr/bin/env python3
"""The whole integrator flow against a running Natter server, with the Python standard library only.

1. start a webhook receiver on 127.0.0.1 that verifies every Standard Webhooks signature;
2. register it at POST /api/v1/webhooks (the secret is shown once, kept in memory here);
3. play a visitor on the widget's socket, who starts a chat  -> conversation.started arrives;
4. route the conversation to an agent and ask for a public agent chat URL for the customerId
   from the webhook;
5. open that URL as the agent would, and reply on the agent socket -> message.created arrives twice;
6. print the delivery log, and remove the endpoint again.

Usage:
    NATTER_TOKEN=ntr_... python3 examples/integrator/walkthrough.py [--url http://127.0.0.1:8080] [--keep]

The server must allow webhooks to loopback for this demo, because the receiver runs on 127.0.0.1:
    NATTER_DELIVERY__ALLOW_PRIVATE_TARGETS=true natter serve
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import queue
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TOLERANCE_SECONDS = 5 * 60


# --- The receiver ---------------------------------------------------------------------------

def verify(secret, headers, body):
    """Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}" under the base64 key after
    "whsec_", base64-encoded, prefixed "v1,"; the header may hold several, space-separated."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(candidate.removeprefix("v1,"), expected)
        for candidate in headers.get("webhook-signature", "").split(" ")
        if candidate.startswith("v1,")
    )


def summary(data):
    text = f"customerId={data['customerId']}"
    if "message" in data:
        message = data["message"]
        text += f" #{message['seq']} {message['author']['kind']}: {message['body']!r}"
    if "assignee" in data:
        text += f" assignee={(data['assignee'] or {}).get('name')}"
    return text


class Receiver:
    def __init__(self):
        self.secret = None
        self.events = queue.Queue()
        self.seen = set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if outer.secret is None or not verify(outer.secret, self.headers, body):
                    self.send_response(401)
                    self.end_headers()
                    print("  receiver: REFUSED a request with a bad signature")
                    return
                self.send_response(204)
                self.end_headers()
                # Deliveries are at least once: drop a webhook-id seen before.
                msg_id = self.headers["webhook-id"]
                if msg_id not in outer.seen:
                    outer.seen.add(msg_id)
                    outer.events.put(json.loads(body))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/natter"

    def expect(self, event_type, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                event = self.events.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                break
            print(f"  webhook: {event['type']:<22} {summary(event['data'])}")
            if event["type"] == event_type:
                return event
        sys.exit(f"no {event_type} webhook within {timeout}s (is delivery.allow_private_targets on?)")


# --- REST ---------------------------------------------------------------------------------

class Api:
    def __init__(self, base, token):
        self.base, self.token = base.rstrip("/"), token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            sys.exit(f"{method} {path} answered {e.code}: {e.read().decode()}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def open_agent_link(url):
    """Opens a public agent chat URL as a browser would; returns the session cookie."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(url)
    except urllib.error.HTTPError as e:
        if e.code == 303:
            return e.headers["set-cookie"].split(";")[0]
        raise
    sys.exit("the agent link did not redirect")


# --- A minimal WebSocket client (text frames only), enough to play the widget and the console ---

class WebSocket:
    def __init__(self, url, cookie=None):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += self._read(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            sys.exit(f"WebSocket upgrade refused: {head.decode().splitlines()[0]}")

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("socket closed")
            data += chunk
        return data

    def send(self, frame):
        payload = json.dumps(frame).encode()
        header = bytearray([0x81])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        else:
            header.append(0x80 | 126)
            header += len(payload).to_bytes(2, "big")
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def recv(self):
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self._read(2), "big")
            elif length == 127:
                length = int.from_bytes(self._read(8), "big")
            data = self._read(length)
            if first & 0x0F == 0x1:
                return json.loads(data)
            if first & 0x0F == 0x8:
                raise ConnectionError("socket closed by the server")

    def expect(self, frame_type):
        while True:
            frame = self.recv()
            if frame["type"] == frame_type:
                return frame


# --- The walk-through -----------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("NATTER_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("NATTER_TOKEN"))
    parser.add_argument("--keep", action="store_true", help="keep the webhook endpoint afterwards")
    args = parser.parse_args()
    if not args.token:
        sys.exit("give an API token: NATTER_TOKEN=ntr_… (natter token create --name demo --scope admin)")
    api = Api(args.url, args.token)
    ws_base = args.url.replace("http", "ws", 1).rstrip("/")

    receiver = Receiver()
    print(f"1. receiver listening on {receiver.url}")
    endpoint = api.call("POST", "/api/v1/webhooks", {
        "url": receiver.url,
        "events": ["conversation.started", "message.created", "conversation.assigned",
                   "customer.updated"],
    })
    receiver.secret = endpoint["secret"]
    print(f"2. webhook {endpoint['id']} registered; secret {endpoint['secret'][:10]}… (shown once)")

    # The shop's customer, tagged from its CRM; the shop's backend vouches for them in the page.
    site_row = api.call("GET", "/api/v1/sites")[0]
    site = site_row["key"]
    crm_id = f"cust-{os.urandom(3).hex()}"
    tagged = api.call("PUT", f"/api/v1/customers/{crm_id}", {
        "id": crm_id, "email": f"{crm_id}@example.com", "firstname": "Grace", "lastname": "Hopper",
        "labels": ["vip"]})
    receiver.expect("customer.updated")
    secret = api.call("POST", f"/api/v1/sites/{site_row['id']}/identity-secret")["secret"]
    proof = hmac.new(secret.encode(), crm_id.encode(), hashlib.sha256).hexdigest()
    print(f"3. customer {crm_id} tagged {tagged['labels']}; the page proves it with an HMAC")

    visitor = WebSocket(f"{ws_base}/ws/visitor?site={site}")
    visitor.send({"type": "hello", "v": 1, "visitor_id": None,
                  "customer": {"id": crm_id, "hash": proof},
                  "page": {"url": "https://shop.example/checkout", "title": "Checkout", "referrer": ""}})
    visitor.expect("welcome")
    visitor.send({"type": "message", "client_id": os.urandom(8).hex(),
                  "body": "Hi! Where is my order?"})
    visitor.expect("ack")
    print("4. the customer wrote in the widget")
    started = receiver.expect("conversation.started")
    conversation = started["data"]["conversationId"]
    customer = started["data"]["customerId"]
    if customer != tagged["customerId"]:
        sys.exit(f"the conversation's customer {customer} is not {crm_id} ({tagged['customerId']})")
    print(f"   conversation {conversation}, customerId {customer} = {crm_id}")

    suffix = os.urandom(3).hex()
    agent = api.call("POST", "/api/v1/agents", {
        "email": f"ada+{suffix}@example.com", "name": "Ada", "external_id": f"crm-{suffix}"})
    api.call("POST", f"/api/v1/conversations/{conversation}/assign", {"agent_id": agent["id"]})
    receiver.expect("conversation.assigned")
    link = api.call("POST", f"/api/v1/agents/{agent['id']}/chat-links", {"customerId": customer})
    print(f"5. assigned to {agent['name']}; agent chat URL {link['url'][:48]}…")

    cookie = open_agent_link(link["url"])
    console = WebSocket(f"{ws_base}/ws/agent", cookie=cookie)
    console.send({"type": "hello", "v": 1})
    console.expect("welcome")
    console.send({"type": "message", "conversation_id": conversation,
                  "client_id": os.urandom(8).hex(), "body": "Hello, Ada here. Let me check."})
    console.expect("ack")
    reply = visitor.expect("message")
    while reply["author"]["kind"] != "agent":
        reply = visitor.expect("message")
    print(f"6. the agent opened the link and replied; the visitor sees: {reply['body']!r}")
    created = receiver.expect("message.created")
    if created["data"]["message"]["author"]["kind"] != "agent":
        receiver.expect("message.created")

    deliveries = api.call("GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries")
    print("7. delivery log:")
    for d in reversed(deliveries):
        attempts = ", ".join(str(a["status_code"] or a["error"]) for a in d["attempts"])
        print(f"   {d['event_type']:<22} {d['state']:<10} attempts: {attempts}")
    if not args.keep:
        api.call("DELETE", f"/api/v1/webhooks/{endpoint['id']}")
        print("   (webhook removed; --keep keeps it)")
    print("done")


if __name__ == "__main__":
    main()
