"""Admin commands behind a router-level filter: for anyone else they do not exist, and their messages
fall through to the fallback router's "unknown command"."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcast import broadcast
from bot.deps import BotDeps
from bot.reply import Reply
from bot.texts import when
from core.services import admin as admin_service
from core.services.parsing import parse_blacklist_args, parse_broadcast
from core.services.users import user_counts

log = logging.getLogger(__name__)


async def _broadcast_and_report(bot: Bot, deps: BotDeps, text: str, reply: Reply) -> None:
    try:
        report = await broadcast(bot, deps.sessionmaker, deps.pacer, text)
    except Exception:
        log.exception("broadcast failed")
        await reply.text(_("Something went wrong. Please try again later."))
        return
    await reply.text(
        _("Broadcast done: sent {sent}, blocked {blocked}, failed {failed}.").format(
            sent=report.sent, blocked=report.blocked, failed=report.failed
        )
    )


def make_router(admin_ids: frozenset[int]) -> Router:
    router = Router(name="admin")
    running: set[asyncio.Task[None]] = set()
    router.message.filter(F.from_user.id.in_(admin_ids))

    @router.message(Command("blacklist"))
    async def cmd_blacklist(
        message: Message, command: CommandObject, reply: Reply, session: AsyncSession
    ) -> None:
        parsed = parse_blacklist_args(command.args)
        actor = message.from_user.id if message.from_user else 0
        if parsed.action == "list":
            entries = await admin_service.active_blacklist(session)
            if not entries:
                await reply.text(_("The blacklist is empty."))
                return
            lines = [_("Blacklisted symbols:")]
            for e in entries:
                until = _("until {time}").format(time=when(e.expires_at)) if e.expires_at else _("no expiry")
                lines.append(f"• {e.symbol} — {e.reason or '—'} ({until})")
            await reply.text("\n".join(lines))
            return
        assert parsed.symbol is not None
        if parsed.action == "add":
            entry = await admin_service.blacklist_add(
                session, parsed.symbol, parsed.reason, parsed.ttl, actor
            )
            await session.commit()
            until = (
                _("until {time}").format(time=when(entry.expires_at)) if entry.expires_at else _("no expiry")
            )
            await reply.text(_("{symbol} is blacklisted ({until}).").format(symbol=entry.symbol, until=until))
            return
        await admin_service.blacklist_remove(session, parsed.symbol, actor)
        await session.commit()
        await reply.text(_("{symbol} is no longer blacklisted.").format(symbol=parsed.symbol))

    @router.message(Command("retrain"))
    async def cmd_retrain(message: Message, reply: Reply, deps: BotDeps) -> None:
        if deps.retrain is None:
            await reply.text(_("Retraining is not built yet: it arrives with the model service."))
            return
        await reply.text(_("Retraining started: {job}").format(job=await deps.retrain()))

    @router.message(Command("users"))
    async def cmd_users(message: Message, reply: Reply, session: AsyncSession) -> None:
        c = await user_counts(session)
        await reply.text(
            _("Users: {total} (active {active}), trading {trading}, paper {paper}, live {live}.").format(
                total=c.total, active=c.active, trading=c.trading, paper=c.paper, live=c.live
            )
        )

    @router.message(Command("stats"))
    async def cmd_stats(message: Message, reply: Reply, session: AsyncSession) -> None:
        s = await admin_service.system_stats(session)
        last = s.last_cycle
        lines = [
            _("Last cycle: {time}").format(time=when(last.started_at if last else None)),
            _("Cycles today: {count}, average {seconds} s").format(
                count=s.cycles_today,
                seconds=f"{s.avg_cycle_seconds:.2f}" if s.avg_cycle_seconds is not None else "—",
            ),
            _("Orders today: {orders} (rejected {rejected}), cycle errors today: {errors}").format(
                orders=s.orders_today, rejected=s.rejected_today, errors=s.cycle_errors_today
            ),
            _("Model version: {version}").format(version=s.model_version or _("none")),
        ]
        if s.stage_seconds:
            stages = ", ".join(f"{k} {float(v):.2f}s" for k, v in s.stage_seconds.items())
            lines.append(_("Last cycle stages: {stages}").format(stages=stages))
        await reply.text("\n".join(lines))

    @router.message(Command("broadcast"))
    async def cmd_broadcast(
        message: Message, command: CommandObject, reply: Reply, deps: BotDeps, bot: Bot
    ) -> None:
        text = parse_broadcast(command.args)
        await reply.text(_("Broadcasting…"))
        # in the background: a large broadcast takes minutes at Telegram's pace, and the admin's own
        # updates would wait behind it (the task inherits this update's locale via its context)
        task = asyncio.create_task(_broadcast_and_report(bot, deps, text, reply))
        running.add(task)
        task.add_done_callback(running.discard)

    return router
