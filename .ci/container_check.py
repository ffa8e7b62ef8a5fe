"""Run the built image against a fake upstream and check it (called by .ci/container.sh; stdlib only).

The container runs as the README says (keys from environment variables, empty /config and CCM_HOME
volumes, --network host so it reaches the fake upstream on 127.0.0.1), and must: create its config from the
default with server.api_key = "$CCM_API_KEY", run as a non-root user, answer /health and its HEALTHCHECK,
keep the admin API behind the router key, serve /v1/messages to a [[clients]] key through the fake
upstream after a config reload, and log JSON lines with no key in them. Everything it starts is removed.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

ANSWER = "hello from the fake upstream"
PROVIDER_KEY = "fake-provider-key-" + secrets.token_hex(8)


class Upstream(BaseHTTPRequestHandler):
    """An Anthropic Messages endpoint that answers every request with the same message."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        Upstream.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps(
            {
                "id": "msg_ci",
                "type": "message",
                "role": "assistant",
                "model": "fake",
                "content": [{"type": "text", "text": ANSWER}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 5},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("content-type", "application/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def podman(*args: str, check: bool = True, stdin: str | None = None) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, input=stdin, timeout=120)
    if check and done.returncode != 0:
        raise SystemExit(f"container check: podman {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"container check FAILED: {what}")
    print(f"container check: ok: {what}", file=sys.stderr)


def wait_healthy(url: str, name: str, deadline_s: float = 90) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if http("GET", f"{url}/health")[0] == 200:
                return
        except OSError:
            pass
        if podman("inspect", "-f", "{{.State.Running}}", name, check=False).strip() != "true":
            break
        time.sleep(0.2)
    raise SystemExit(f"container check FAILED: no /health within {deadline_s} s\n{podman('logs', name, check=False)}")


def ci_config(upstream_port: int) -> str:
    return f"""
[server]
api_key = "$CCM_API_KEY"   # host and port: $CCM_HOST and $CCM_PORT, as the image sets them

[router]
default = "m"

[[providers]]
name = "fake"
provider_type = "anthropic-compatible"
base_url = "http://127.0.0.1:{upstream_port}"
api_key = "$FAKE_PROVIDER_KEY"

[[models]]
name = "m"
[[models.mappings]]
provider = "fake"
actual_model = "fake-model"

[[clients]]
name = "ci"
api_key = "$CCM_CI_CLIENT_KEY"
"""


def check(image: str, name: str, port: int, upstream_port: int, router: str, client: str) -> None:
    url = f"http://127.0.0.1:{port}"
    podman(
        "run", "-d", "--name", name, "--network", "host",
        "-e", f"CCM_API_KEY={router}", "-e", f"CCM_PORT={port}",
        "-e", f"CCM_CI_CLIENT_KEY={client}", "-e", f"FAKE_PROVIDER_KEY={PROVIDER_KEY}",
        "-v", f"{name}-config:/config", "-v", f"{name}-home:/data",
        image,
    )  # fmt: skip
    wait_healthy(url, name)
    expect(True, "/health answers")
    created = podman("exec", name, "cat", "/config/config.toml")
    expect(
        '\napi_key = "$CCM_API_KEY"' in created, "the config was created from the default, api_key from $CCM_API_KEY"
    )
    expect(podman("exec", name, "id", "-u").strip() != "0", "it runs as a non-root user")
    health = subprocess.run(["podman", "healthcheck", "run", name], capture_output=True, text=True, timeout=60)
    expect(health.returncode == 0, f"the image's HEALTHCHECK passes ({health.stdout.strip() or health.stderr.strip()})")
    expect(http("GET", f"{url}/api/status")[0] == 401, "the admin API needs the router key")
    expect(http("GET", f"{url}/api/status", headers={"x-api-key": router})[0] == 200, "the router key opens it")

    podman("exec", "-i", name, "sh", "-c", "cat > /config/config.toml", stdin=ci_config(upstream_port))
    status, text = http("POST", f"{url}/api/config/reload", {}, {"x-api-key": router})
    expect(status == 200, f"the config pointing at the fake upstream reloads ({status} {text[:200]})")
    body = {"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    status, text = http("POST", f"{url}/v1/messages", body, {"x-api-key": client, "anthropic-version": "2023-06-01"})
    expect(status == 200 and ANSWER in text, f"/v1/messages through the fake upstream ({status} {text[:200]})")
    expect(http("GET", f"{url}/api/status", headers={"x-api-key": client})[0] == 403, "a client key is no admin key")
    expect(any(h.get("x-api-key") == PROVIDER_KEY for h in Upstream.seen), "the provider key came from the environment")

    lines, parsed = logged(name)
    end = time.monotonic() + 10  # the request's line is written once the answer is out
    while not any(p.get("logger") == "ccm.requests" for p in parsed) and time.monotonic() < end:
        time.sleep(0.1)
        lines, parsed = logged(name)
    expect(all({"time", "level", "logger", "message"} <= set(p) for p in parsed), f"{len(parsed)} JSON log lines")
    expect(any(p.get("logger") == "ccm.requests" and p.get("client") == "ci" for p in parsed), "the request is logged")
    joined = "\n".join(lines)
    expect(all(key not in joined for key in (router, client, PROVIDER_KEY)), "no key in the logs")


def logged(name: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The container's log lines, each parsed as the one JSON object it must be (else this raises)."""
    logs = subprocess.run(["podman", "logs", name], capture_output=True, text=True, timeout=60)
    lines = [line for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    return lines, [json.loads(line) for line in lines]


def main() -> int:
    image = sys.argv[1]
    name = f"ccm-ci-{secrets.token_hex(4)}"
    port, upstream_port = free_port(), free_port()
    router, client = "router-" + secrets.token_hex(16), "client-" + secrets.token_hex(16)
    server = ThreadingHTTPServer(("127.0.0.1", upstream_port), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check(image, name, port, upstream_port, router, client)
    finally:
        server.shutdown()
        podman("rm", "-f", "-t", "5", name, check=False)
        podman("volume", "rm", "-f", f"{name}-config", f"{name}-home", check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
