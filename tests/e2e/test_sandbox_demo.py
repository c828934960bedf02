"""`run_bot.py sandbox` end to end, as a person at the terminal chat uses it: both sandbox servers,
the bot and the engine in one process; register, deposit, start trading, and fills arrive."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sandbox_demo_trades_and_reports(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_", "MASTER_", "REDIS_"))
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run_bot.py"),
            "sandbox",
            "--speed",
            "600",
            "--user-id",
            "4242",
            "--home",
            str(tmp_path),
        ],
        cwd=tmp_path,  # no .env of the developer's
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        for command in ("/start", "/deposit 1000", "/trade_on"):
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
            time.sleep(1.5)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if any(line.startswith("bot> Bought") for line in lines):
                break
            time.sleep(0.5)
        proc.stdin.write("/quit\n")
        proc.stdin.flush()
        proc.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "\n".join(lines)
    assert "Your sandbox Binance account has 10,000 USDT" in text
    assert "bot> Welcome!" in text
    assert "bot> Deposit set to 1,000.00 USDT" in text
    assert "bot> Trading is on" in text
    assert any(line.startswith("bot> Bought") for line in lines), text[-3000:]
    assert proc.returncode == 0, text[-3000:]
    assert "Traceback" not in text
