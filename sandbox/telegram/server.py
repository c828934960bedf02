"""The sandbox Telegram Bot API server: `/bot{token}/{method}`, file downloads and the control API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import web

from sandbox.telegram import errors
from sandbox.telegram.bot_api import BotApi
from sandbox.telegram.control import ControlApi
from sandbox.telegram.errors import BotApiError
from sandbox.telegram.limits import FloodControl, RateLimits
from sandbox.telegram.params import Params
from sandbox.telegram.state import World

DEFAULT_TOKEN = "123456:TEST"  # noqa: S105 - the sandbox's public test token
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram's limit for bots' uploads

log = logging.getLogger(__name__)


class TelegramSandbox:
    """One bot's view of Telegram. Use `await start()` / `await stop()` in any running event loop."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: RateLimits | None = None,
        bot_name: str = "Sandbox Bot",
        bot_username: str = "sandbox_bot",
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        bot_id, sep, secret = token.partition(":")
        if not (sep and bot_id.isdigit() and secret):
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.world = World(
            {"id": int(bot_id), "is_bot": True, "first_name": bot_name, "username": bot_username}, clock
        )
        self.flood = FloodControl(limits or RateLimits(), monotonic)
        self.api = BotApi(self.world, self.flood)
        self.control = ControlApi(self.world)
        self.url = ""
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES, middlewares=[self.control.errors])
        app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self._bot_method),
                web.get("/file/bot{token}/{path:.+}", self._download),
                *self.control.routes(),
            ]
        )
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: a free port); return the base URL for TelegramAPIServer.from_base()."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        log.info("sandbox Telegram Bot API on %s", self.url)
        return self.url

    async def stop(self) -> None:
        self.world.close()  # ends pending long polls at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _bot_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.world.stats.requests[self.api.method_names.get(method.lower(), method)] += 1
        try:
            if request.match_info["token"] != self.token:
                raise errors.unauthorized()
            params = await Params.read(request)
            result = await self.api.call(method, params)
        except BotApiError as e:
            self.world.stats.errors[e.code] += 1
            return web.json_response(e.envelope(), status=e.code)
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(errors.unauthorized().envelope(), status=401)
        path = request.match_info["path"]
        for stored in self.world.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type)
        return web.json_response(errors.not_found().envelope(), status=404)
