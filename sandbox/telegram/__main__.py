"""`python -m sandbox.telegram --port N`: run the sandbox Telegram Bot API server until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from sandbox.telegram.limits import RateLimits
from sandbox.telegram.server import DEFAULT_TOKEN, TelegramSandbox


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--token", default=DEFAULT_TOKEN, help="the one bot token accepted (default %(default)s)"
    )
    parser.add_argument("--global-rate", type=float, default=30.0, help="messages/s from the bot overall")
    parser.add_argument("--global-burst", type=int, default=30)
    parser.add_argument("--chat-rate", type=float, default=1.0, help="sustained messages/s to one chat")
    parser.add_argument("--chat-burst", type=int, default=3, help="messages to one chat allowed at once")
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    limits = (
        RateLimits.off()
        if args.no_rate_limits
        else RateLimits(args.global_rate, args.global_burst, args.chat_rate, args.chat_burst)
    )
    server = TelegramSandbox(args.token, limits=limits)
    url = await server.start(args.host, args.port)
    print(f"sandbox Telegram Bot API: {url}  (token {args.token})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(_args(argv)))


if __name__ == "__main__":
    main()
