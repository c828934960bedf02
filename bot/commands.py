"""The user commands (names are part of the contract), for /help, the menu and setMyCommands."""

from __future__ import annotations

import re

from core.services.l10n import N_

USER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Main menu")),
    ("help", N_("All commands")),
    ("keys", N_("Add, replace or delete exchange keys")),
    ("mode", N_("Paper or live trading")),
    ("deposit", N_("The capital the bot may use")),
    ("balance", N_("Balances and their value")),
    ("status", N_("Trading status and warnings")),
    ("positions", N_("Open positions")),
    ("trade_on", N_("Start trading")),
    ("trade_off", N_("Stop trading")),
    ("settings", N_("Risk settings and strategies")),
    ("pnl", N_("Profit and loss with a chart")),
    ("lang", N_("Language")),
)

ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("blacklist", N_("Signal blacklist: add SYMBOL [reason] [ttl] | remove SYMBOL")),
    ("retrain", N_("Retrain the model")),
    ("users", N_("User counts")),
    ("stats", N_("Cycle timings, orders, errors, model")),
    ("broadcast", N_("Send TEXT to every user")),
)

# The buttons of the /start menu: every user command but /start itself, with short labels.
MENU_BUTTONS: tuple[tuple[str, str], ...] = (
    ("help", N_("Help")),
    ("keys", N_("Keys")),
    ("mode", N_("Mode")),
    ("deposit", N_("Deposit")),
    ("balance", N_("Balance")),
    ("status", N_("Status")),
    ("positions", N_("Positions")),
    ("pnl", N_("P&L")),
    ("trade_on", N_("Trade on")),
    ("trade_off", N_("Trade off")),
    ("settings", N_("Settings")),
    ("lang", N_("Language")),
)
MENU_COMMANDS = tuple(name for name, _ in MENU_BUTTONS)

# What Telegram treats as a command: "/" and up to 32 letters, digits or underscores (optionally
# @botname), then a space or the end. A pasted key or secret that merely starts with "/" (base64 has
# "/", "+", "=") is longer or has other characters, so it is not mistaken for a command.
COMMAND_RE = r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?(\s|$)"


def is_command(text: str | None) -> bool:
    return bool(text and re.match(COMMAND_RE, text))
