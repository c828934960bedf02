"""The trading engine: the scheduled cycle for every user, exactly-once orders, recovery.

- app.py        `Engine`: start() (reconcile, then APScheduler jobs), stop(), run_cycle_once(), watch_once()
- market_view.py the market stage's result as users read it: prices, rules, ATR, one book per strategy set
- snapshot.py   every active user's state in a few queries per cycle (never one query per user)
- planner.py    one user's exits (core.exits) and entries (core.risk): pure
- paper.py      paper fills (core.fills.FillModel) written in bulk, idempotent by client order id
- bulk.py       multi-row INSERT/UPDATE for those batches
- live.py       exactly-once live orders over ccxt: pending first, ask before resending
- live_user.py  one live user's job: settle in-flight orders, plan, place
- accounts.py   one lazily built ccxt client per exchange account, closed on key change or idle
- reconcile.py  start-up reconciliation with the exchange, reported to each user
- ledger.py     what a fill does to a position (shared by paper and live)
- notices.py    outbox rows (core.services.notifications texts)
- stats.py      cycle timings and counters (memory + cycle_runs)
- ids.py        client order ids: "tb" + 32 hex of sha256(user|signal|leg)
"""
