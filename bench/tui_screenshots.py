"""The screenshots in docs/screenshots/: every tab of `ccm tui` against a real proxy, at 80x24 and 200x50.

A fake upstream (tests/fakes/upstream.py) plays z.ai, a real `python -m ccm serve` proxies to it, a few
requests go through it (one fails over and fails), then the app is driven tab by tab and each screen is
saved as SVG and converted to PNG with rsvg-convert (Debian: librsvg2-bin). Nothing leaves 127.0.0.1.

    python bench/tui_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.e2e.harness import free_port, spawn_server, terminate, wait_healthy  # noqa: E402
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream  # noqa: E402
from tests.tui.helpers import SAMPLE, settle  # noqa: E402

TABS = [
    ("overview", "f2"),
    ("providers", "f3"),
    ("models", "f4"),
    ("router", "f5"),
    ("oauth", "f6"),
    ("console", "f7"),
    ("logs", "f8"),
]
HAIKU = "One door closes hard,\nthe second answers at once:\nthe prompt never knew."


OPENAI_ANSWER = {
    "id": "chatcmpl-demo",
    "object": "chat.completion",
    "model": "moonshotai/kimi-k2-thinking",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
}


def demo_config(zai_url: str, openrouter_url: str, port: int) -> str:
    """The tests' sample config, with z.ai and OpenRouter played by fake upstreams and a free port."""
    text = SAMPLE.replace("port = 13456", f"port = {port}")
    text = text.replace('provider_type = "z.ai"\n', f'provider_type = "z.ai"\nbase_url = "{zai_url}"\n', 1)
    return text.replace(
        'provider_type = "openrouter"\n', f'provider_type = "openrouter"\nbase_url = "{openrouter_url}"\n', 1
    )


def send(url: str, model: str, *, stream: bool = False, thinking: bool = False) -> None:
    body: dict[str, object] = {
        "model": model,
        "max_tokens": 2048,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }
    if thinking:
        body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    with httpx.Client(trust_env=False, timeout=30) as client:
        client.post(f"{url}/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})


def to_png(svg: Path, png: Path, width: int) -> None:
    # rsvg collapses the leading non-breaking spaces Textual writes; plain spaces + xml:space keep columns.
    text = svg.read_text(encoding="utf-8").replace("&#160;", " ")
    text = re.sub(r"<svg ", '<svg xml:space="preserve" ', text, count=1)
    fixed = svg.with_suffix(".tmp.svg")
    fixed.write_text(text, encoding="utf-8")
    subprocess.run(["rsvg-convert", "-w", str(width), str(fixed), "-o", str(png)], check=True)
    fixed.unlink()


async def shoot(out: Path, size: tuple[int, int], url: str) -> list[Path]:
    from textual.widgets import Input

    from tui.app import CcmApp

    app = CcmApp()
    saved = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for tab, key in TABS:
            await pilot.press(key)
            await settle(pilot)
            if tab == "console":
                app.query_one("#message", Input).value = "Write a haiku about failover"
                await pilot.press("enter")
                for _ in range(200):
                    if "rule" in str(app.query_one("#console-meta").render()):
                        break
                    await pilot.pause(0.02)
            if tab == "providers":
                await pilot.press("t")  # a connection test through the proxy
                await settle(pilot)
            for widget in app.screen.query(Input):
                widget.cursor_blink = False
            await settle(pilot)
            name = f"{tab}-{size[0]}x{size[1]}"
            svg = out / f"{name}.svg"
            app.save_screenshot(filename=svg.name, path=str(out))
            to_png(svg, out / f"{name}.png", 1000 if size[0] <= 80 else 1600)
            svg.unlink()
            saved.append(out / f"{name}.png")
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not shutil.which("rsvg-convert"):
        sys.exit("rsvg-convert not found (Debian: apt-get install librsvg2-bin)")
    home = Path(tempfile.mkdtemp(prefix="ccm-shots-"))
    os.environ.update(
        CCM_HOME=str(home),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        ZAI_API_KEY="zai-demo-key-not-real-0042",
        TZ="UTC",
        HOME=str(home.parent),
    )
    with FakeUpstream() as zai, FakeUpstream() as openrouter:
        stream = Reply.stream(anthropic_stream(HAIKU, model="glm-4.6", pieces=6), delay=0.05)
        zai.script(
            Reply(200, json=anthropic_message("ok", model="glm-4.6")),
            Reply.error(529, "overloaded", "overloaded_error"),
            Reply(200, json=anthropic_message("done", model="glm-4.5-air")),
            stream,
        )
        openrouter.script(Reply(200, json=OPENAI_ANSWER))
        os.environ["OPENROUTER_API_KEY"] = "sk-or-demo-not-real-7f3c"
        port = free_port()
        (home / "config.toml").write_text(demo_config(zai.url, openrouter.url + "/api/v1", port))
        proc = spawn_server(home, "--port", str(port))
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc=proc)
            send(url, "claude-sonnet-4-5")  # default -> glm-4.6 on zai
            send(url, "claude-sonnet-4-5", thinking=True)  # think -> kimi-k2 on openrouter
            send(url, "claude-sonnet-4-5")  # zai answers 529: fails over to openrouter (2 attempts)
            send(url, "claude-haiku-4-5")  # background -> glm-4.5-air
            send(url, "gpt-5")  # not a configured model: 404
            saved = []
            for size in ((80, 24), (200, 50)):
                saved += asyncio.run(shoot(out, size, url))
        finally:
            terminate(proc)
    shutil.rmtree(home, ignore_errors=True)
    for path in saved:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
