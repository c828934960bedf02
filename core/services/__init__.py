"""Services the Telegram bot (and the HTTP API) call: aiogram-free, one job per module.

User-facing problems are raised as `UserError` carrying a gettext msgid (marked with `N_`), so the
caller renders them in the user's language; nothing here formats chat text for a specific client.
"""
