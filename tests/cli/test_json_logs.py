"""`ccm start --foreground --log-format json`: every line on stderr is one JSON object (time, level, logger,
message; a finished request's line carries its record's fields), and no secret is in any of them."""

from __future__ import annotations

import json
import signal
import subprocess
from typing import Any

import httpx
import pytest

from tests.cli.conftest import CCM, CONFIG, Cli
from tests.e2e.harness import wait_healthy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

ROUTER = "router-key-0123456789abcdef"
CLIENT = "alice-client-key-0123456789"
PROVIDER = "provider-key-PPPPPPPPPPPPPPPP"


def config(port: int, url: str) -> str:
    text = CONFIG.format(port=port, base_url=url)
    text = text.replace('host = "127.0.0.1"\n', f'host = "127.0.0.1"\napi_key = "{ROUTER}"\n')
    text = text.replace(f'base_url = "{url}"\n', f'base_url = "{url}"\napi_key = "{PROVIDER}"\n', 1)
    text += '\n[[providers]]\nname = "nokey"\nprovider_type = "z.ai"\n'
    text += '\n[[models]]\nname = "other"\n[[models.mappings]]\nprovider = "nokey"\nactual_model = "glm"\n'
    return text + f'\n[[clients]]\nname = "alice"\napi_key = "{CLIENT}"\n'


def lines_of(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        data = json.loads(line)  # every line is one JSON object
        assert isinstance(data, dict), line
        assert {"time", "level", "logger", "message"} <= set(data), line
        assert data["time"].endswith("Z") and "T" in data["time"]
        out.append(data)
    return out


@pytest.mark.timeout(120)
def test_foreground_json_logs(cli: Cli, port: int) -> None:
    with FakeUpstream() as upstream:
        upstream.script(
            Reply(200, json=anthropic_message("ok", input_tokens=11, output_tokens=4)),
            Reply.error(500, f"the key {PROVIDER} and {CLIENT} failed"),
        )
        (cli.home / "config.toml").write_text(config(port, upstream.url))
        proc = subprocess.Popen(
            [str(CCM), "start", "--foreground", "--log-format", "json"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cli.home,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, 30)
            body = {"model": "main", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
            ok = httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": CLIENT}, trust_env=False)
            assert ok.status_code == 200
            failed = httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": ROUTER}, trust_env=False)
            assert failed.status_code == 500
        finally:
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    for secret in (ROUTER, CLIENT, PROVIDER):
        assert secret not in stderr and secret not in stdout
    lines = lines_of(stderr)
    warnings = [x for x in lines if x["logger"] == "ccm.start"]
    assert any("provider 'nokey' has no API key" in x["message"] for x in warnings)
    assert all(x["level"] == "warning" for x in warnings)
    assert any("serving" in x["message"] and x["logger"] == "ccm" for x in lines)
    requests = [x for x in lines if x["logger"] == "ccm.requests"]
    assert len(requests) == 2
    first, second = requests
    assert (first["status"], first["route"], first["model"], first["client"]) == (200, "default", "main", "alice")
    assert (first["provider"], first["input_tokens"], first["output_tokens"]) == ("up", 11, 4)
    assert second["status"] == 500 and second["client"] == "-" and "[redacted]" in second["error"]
    assert any(x["message"] == "ccm stopped" for x in lines)


def test_json_logs_need_the_foreground(cli: Cli, port: int) -> None:
    (cli.home / "config.toml").write_text(CONFIG.format(port=port, base_url="http://127.0.0.1:9"))
    assert "needs --foreground" in cli.fails("start", "--log-format", "json")
    assert "text or json" in cli.fails("start", "--foreground", "--log-format", "yaml")
