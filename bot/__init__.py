"""Everything Telegram: aiogram routers, middlewares, keyboards, FSM, i18n and the outbox notifier."""
