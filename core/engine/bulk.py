"""Multi-row INSERT and UPDATE for the paper desk's batches.

On SQLite, SQLAlchemy's per-row parameter processing costs more than SQLite's own work for the tens of
thousands of rows a 10,000-user cycle writes, so rows are converted once with the same storage rules
as the column types (Money as exact decimal text, UTC datetimes as SQLAlchemy's SQLite text format,
enums by name, JSON as text, booleans as 0/1) and handed to the driver's executemany. Other databases
take SQLAlchemy's normal executemany path.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import JSON, Boolean, Date, Enum, Table, bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.types import Money, UTCDateTime

Convert = Callable[[Any], Any]


def table(model: Any) -> Table:
    """A mapped class's Table (typed for the checkers)."""
    return cast(Table, model.__table__)


def _money(v: Any) -> Any:
    if type(v) is Decimal and v.is_finite():
        return format(v, "f")
    if v is None:
        return None
    if isinstance(v, float):
        raise TypeError("money must be Decimal, not float")
    d = Decimal(v)
    if not d.is_finite():
        raise ValueError("money must be finite")
    return format(d, "f")


def _utc(v: Any) -> Any:
    if v is None:
        return None
    if not isinstance(v, datetime) or v.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _enum_name(v: Any) -> Any:
    return v.name if isinstance(v, enum.Enum) else v


def _json(v: Any) -> Any:
    return None if v is None else json.dumps(v)


def _bool(v: Any) -> Any:
    return None if v is None else int(bool(v))


def _memo(convert: Convert) -> Convert:
    """Cache a converter's results: a batch repeats the same few enums and timestamps many times."""
    cache: dict[Any, Any] = {}

    def run(v: Any) -> Any:
        try:
            return cache[v]
        except KeyError:
            out = cache[v] = convert(v)
            return out
        except TypeError:  # unhashable (JSON lists)
            return convert(v)

    return run


def _converter(column: Any) -> Convert | None:
    t = column.type
    if isinstance(t, Money):
        return _money
    if isinstance(t, UTCDateTime):
        return _memo(_utc)
    if isinstance(t, Enum):
        return _memo(_enum_name)
    if isinstance(t, JSON):
        return _json
    if isinstance(t, Boolean):
        return _bool
    return None


def _rows(table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    convs = [_converter(table.c[k]) for k in keys]
    plain = all(c is None for c in convs)
    if plain:
        return [tuple(r[k] for k in keys) for r in rows]
    pairs = list(zip(keys, convs, strict=True))
    return [tuple(r[k] if c is None else c(r[k]) for k, c in pairs) for r in rows]


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, ignore_conflict: str | None = None
) -> None:
    """INSERT every row (all rows carry the same keys). `ignore_conflict` names a unique column whose
    conflicts are skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    keys = list(rows[0])
    if _is_sqlite(session):
        cols = ", ".join(keys)
        marks = ", ".join("?" for _ in keys)
        tail = f" ON CONFLICT ({ignore_conflict}) DO NOTHING" if ignore_conflict else ""
        sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks}){tail}"  # noqa: S608 (names from the schema)
        conn = await session.connection()
        await conn.exec_driver_sql(sql, _rows(table, keys, rows))  # type: ignore[arg-type]
        return
    if ignore_conflict:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await session.execute(pg_insert(table).on_conflict_do_nothing(index_elements=[ignore_conflict]), rows)
    else:
        await session.execute(table.insert(), rows)


async def update_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE by primary key `id`; all rows carry the same keys."""
    if not rows:
        return
    cols = [k for k in rows[0] if k != "id"]
    if _is_sqlite(session):
        sets = ", ".join(f"{c} = ?" for c in cols)
        sql = f"UPDATE {table.name} SET {sets} WHERE id = ?"  # noqa: S608 (names from the schema)
        params = [(*t, r["id"]) for t, r in zip(_rows(table, cols, rows), rows, strict=True)]
        conn = await session.connection()
        await conn.exec_driver_sql(sql, params)  # type: ignore[arg-type]
        return
    stmt = table.update().where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in cols})
    await session.execute(stmt, [{"_id": r["id"], **{c: r[c] for c in cols}} for r in rows])


def _dt_in(v: Any) -> Any:
    if v is None:
        return None
    return datetime.fromisoformat(v).replace(tzinfo=UTC) if isinstance(v, str) else v


def _reader(column: Any) -> Convert | None:
    """How a raw SQLite value becomes what the column type would return."""
    t = column.type
    if isinstance(t, Money):
        return lambda v: None if v is None else Decimal(str(v))
    if isinstance(t, UTCDateTime):
        return _dt_in
    if isinstance(t, Enum) and t.enum_class is not None:
        members = t.enum_class.__members__
        return lambda v: None if v is None else members[v]
    if isinstance(t, JSON):
        return lambda v: None if v is None else json.loads(v)
    if isinstance(t, Boolean):
        return lambda v: None if v is None else bool(v)
    if isinstance(t, Date):
        return lambda v: None if v is None else date.fromisoformat(v) if isinstance(v, str) else v
    return None


async def select_rows(
    session: AsyncSession, table: Table, columns: Sequence[str], where_sql: str, fallback: Any
) -> list[tuple[Any, ...]]:
    """SELECT `columns` of `table` (aliased `t`) WHERE `where_sql`, as converted tuples.

    On SQLite the rows come straight from the driver and are converted here (several times faster
    than SQLAlchemy's result processing for the tens of thousands of rows a large cycle reads);
    elsewhere `fallback` (the same query as a SQLAlchemy select) runs normally.
    """
    if not _is_sqlite(session):
        return [tuple(r) for r in await session.execute(fallback)]
    cols = ", ".join(f"t.{c}" for c in columns)
    conn = await session.connection()
    result = await conn.exec_driver_sql(f"SELECT {cols} FROM {table.name} t WHERE {where_sql}")  # noqa: S608
    readers = [(i, r) for i, r in enumerate(_reader(table.c[c]) for c in columns) if r is not None]
    out = []
    for raw in result:
        row = list(raw)
        for i, read in readers:
            row[i] = read(row[i])
        out.append(tuple(row))
    return out
