"""The shop simulator: one business day's increment of a synthetic e-commerce source.

Pure numpy + pyarrow (no dlt), so it can be tested and benchmarked on its own. Design choices:

* **Deterministic and batch-size independent.** Random draws come from fixed streams: per-entity
  attributes are a hash of ``(seed, entity id)``; daily events and order chunks (``CHUNK_SIZE``
  orders) each get a generator seeded from ``SeedSequence([seed, stream, day, chunk])``, always
  drawing full-chunk arrays in a fixed order. ``batch_size`` only re-slices the output.
* **Any day can be generated alone.** The small change logs of customers and products are
  replayed from the start date, and order headers of the previous ``LIFECYCLE_DAYS`` days are
  regenerated to find their status transitions due on the day. The replayed state of the last
  few days is kept (:class:`_ReplayCache`, shared by equal simulators), so generating the dates of
  a backfill in order replays each day once: linear in the number of days, not quadratic.
* **Vectorized and memory-bounded.** Work happens per chunk; no per-row Python loop on orders,
  lines or payments. Money is handled as int64 cents, so payment sums are exact.

Every timestamp is int64 microseconds since the epoch (UTC) until it becomes an Arrow column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.shop import settings as s

US = 1_000_000
DAY_US = 86_400 * US
_EPOCH = date(1970, 1, 1)
_NEVER = np.iinfo(np.int64).max
MAX_LINES = len(s.LINES_WEIGHTS)

TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(12, 2)


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, type_, nullable=nullable) for name, type_, nullable in fields])


# The raw table contract. Key columns (and the cursor) are non-nullable.
SCHEMAS: dict[str, pa.Schema] = {
    "customers": _schema(
        ("customer_id", pa.int64(), False),
        ("first_name", pa.string(), True),
        ("last_name", pa.string(), True),
        ("email", pa.string(), True),
        ("city", pa.string(), True),
        ("country", pa.string(), True),
        ("segment", pa.string(), True),
        ("created_at", TIMESTAMP, True),
        ("updated_at", TIMESTAMP, False),
        ("_arrived_at", TIMESTAMP, False),
    ),
    "products": _schema(
        ("product_id", pa.int64(), False),
        ("sku", pa.string(), True),
        ("product_name", pa.string(), True),
        ("category", pa.string(), True),
        ("unit_price", MONEY, True),
        ("created_at", TIMESTAMP, True),
        ("updated_at", TIMESTAMP, False),
        ("_arrived_at", TIMESTAMP, False),
    ),
    "orders": _schema(
        ("order_id", pa.int64(), False),
        ("customer_id", pa.int64(), True),
        ("ordered_at", TIMESTAMP, True),
        ("status", pa.string(), True),
        ("channel", pa.string(), True),
        ("updated_at", TIMESTAMP, False),
        ("_arrived_at", TIMESTAMP, False),
    ),
    "order_items": _schema(
        ("order_item_id", pa.int64(), False),
        ("order_id", pa.int64(), True),
        ("product_id", pa.int64(), True),
        ("quantity", pa.int32(), True),
        ("unit_price", MONEY, True),
        ("discount_amount", MONEY, True),
        ("created_at", TIMESTAMP, True),
        ("_arrived_at", TIMESTAMP, False),
    ),
    "payments": _schema(
        ("payment_id", pa.int64(), False),
        ("order_id", pa.int64(), True),
        ("payment_method", pa.string(), True),
        ("amount", MONEY, True),
        ("paid_at", TIMESTAMP, True),
        ("_arrived_at", TIMESTAMP, False),
    ),
}
TABLES: tuple[str, ...] = tuple(SCHEMAS)
MERGE_TABLES: tuple[str, ...] = ("customers", "products", "orders")  # versioned change logs
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "updated_at"),
    "products": ("product_id", "updated_at"),
    "orders": ("order_id", "updated_at"),
    "order_items": ("order_item_id",),
    "payments": ("payment_id",),
}

# Status codes index settings.STATUSES.
PLACED, PAID, SHIPPED, DELIVERED, CANCELLED, RETURNED = range(6)
assert s.STATUSES[RETURNED] == "returned" and s.STATUSES[CANCELLED] == "cancelled"
_GIFT_CARD = s.PAYMENT_METHODS.index("gift_card")
_CARD = s.PAYMENT_METHODS.index("card")


class Stream(IntEnum):
    """Independent random streams; adding a stream never shifts the draws of another."""

    CUSTOMER_STATIC = 1
    CUSTOMER_EVENTS = 2
    PRODUCT_STATIC = 3
    PRODUCT_EVENTS = 4
    PRODUCT_POPULARITY = 5
    ORDER_COUNT = 6
    ORDER_HEADER = 7
    ORDER_LIFECYCLE = 8
    ORDER_ITEMS = 9
    PAYMENTS = 10
    SNAPSHOT = 11


# --- random helpers ---------------------------------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijective 64-bit mixer (array arithmetic wraps silently)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def _hash_uniform(seed: int, stream: Stream, salt: int, ids: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per id: entity attributes readable for any id without replaying a stream."""
    key = _splitmix64(np.array([seed], dtype=np.uint64))
    key = _splitmix64(key ^ np.uint64(int(stream)))
    key = _splitmix64(key ^ np.uint64(salt))
    h = _splitmix64(np.asarray(ids).astype(np.uint64) ^ key)
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _rng(seed: int, stream: Stream, day: int = 0, chunk: int = 0) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, day, chunk])))


def _pick(u: np.ndarray, weights: Iterable[float]) -> np.ndarray:
    """Categorical draw (index into ``weights``) from uniforms, by inverse CDF."""
    cum = np.cumsum(np.asarray(tuple(weights), dtype=np.float64))
    idx = np.searchsorted(cum / cum[-1], u, side="right")
    return np.minimum(idx, len(cum) - 1)


def _uniform_us(rng: np.random.Generator, bounds: tuple[int, int], size) -> np.ndarray:
    """Uniform durations (microseconds) between ``bounds`` given in seconds."""
    return rng.integers(bounds[0] * US, bounds[1] * US, size=size, dtype=np.int64)


def _stratified(start_us: int, span_us: int, n: int, u: np.ndarray) -> np.ndarray:
    """``n`` strictly increasing instants spread over a span: element i lies in slot i."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    slots = np.arange(n, dtype=np.float64) + 0.05 + 0.9 * u
    return start_us + (slots * (span_us / n)).astype(np.int64)


def _arrival(event_us: np.ndarray, delay_us: np.ndarray) -> np.ndarray:
    """Delivery instant: a short delay after the event, but on the event's own day."""
    day_end = (event_us // DAY_US + 1) * DAY_US
    return np.minimum(event_us + delay_us, day_end - 1)


def _day_of(us: np.ndarray) -> np.ndarray:
    return us // DAY_US


# --- Arrow helpers ----------------------------------------------------------------------------
def _timestamps(us: np.ndarray) -> pa.Array:
    data = np.ascontiguousarray(us, dtype=np.int64)
    return pa.Array.from_buffers(TIMESTAMP, len(data), [None, pa.py_buffer(data)])


def _money(cents: np.ndarray) -> pa.Array:
    """decimal128(12, 2) straight from int64 cents (the unscaled value), exact and zero-loop."""
    words = np.empty((len(cents), 2), dtype=np.int64)  # little-endian 128-bit two's complement
    words[:, 0] = cents
    words[:, 1] = np.asarray(cents, dtype=np.int64) >> 63
    return pa.Array.from_buffers(MONEY, len(cents), [None, pa.py_buffer(words)])


def _labels(vocabulary: Iterable[str], idx: np.ndarray) -> pa.Array:
    return pa.array(list(vocabulary), pa.string()).take(pa.array(idx, pa.int64()))


def _table(name: str, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    schema = SCHEMAS[name]
    arrays = [
        pa.array(columns[f.name], f.type)
        if isinstance(columns[f.name], np.ndarray)
        else columns[f.name]
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def rebatch(tables: Iterable[pa.Table], batch_size: int) -> Iterator[pa.Table]:
    """Re-slice a stream of tables into tables of exactly ``batch_size`` rows (the last shorter).

    The concatenated rows are identical for every ``batch_size``: batching never changes data.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    pending: list[pa.Table] = []
    rows = 0
    for table in tables:
        offset = 0
        while offset < table.num_rows:
            take = min(batch_size - rows, table.num_rows - offset)
            pending.append(table.slice(offset, take))
            rows += take
            offset += take
            if rows == batch_size:
                yield pa.concat_tables(pending).combine_chunks()
                pending, rows = [], 0
    if rows:
        yield pa.concat_tables(pending).combine_chunks()


# --- state records ----------------------------------------------------------------------------
@dataclass
class _Catalog:
    """Product prices at the start of ``day`` plus the events of ``day`` (replay state)."""

    day: int
    price: np.ndarray  # int64 cents of products 1..n_start
    created: np.ndarray  # int64 us
    new_created: np.ndarray  # products created on ``day`` (ids n_start+1..), increasing
    new_price: np.ndarray
    new_delay: np.ndarray
    change_idx: np.ndarray  # 0-based product index, sorted, unique
    change_time: np.ndarray
    change_price: np.ndarray
    change_delay: np.ndarray

    @property
    def n_start(self) -> int:
        return len(self.price)

    @property
    def n_end(self) -> int:
        return len(self.price) + len(self.new_price)

    def price_lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per product (0-based): price before any change today, change instant, changed price."""
        before = np.concatenate([self.price, self.new_price])
        change_at = np.full(self.n_end, _NEVER, dtype=np.int64)
        change_at[self.change_idx] = self.change_time
        after = before.copy()
        after[self.change_idx] = self.change_price
        return before, change_at, after


@dataclass
class _OrderChunk:
    """Header and lifecycle of one chunk of orders placed on one day."""

    day: int
    chunk: int
    next_day_us: int  # start of the day after the order day
    order_id: np.ndarray
    ordered_at: np.ndarray
    customer_id: np.ndarray
    channel: np.ndarray
    event_at: np.ndarray  # (6, n) event instant per status (index = status code)
    has_event: np.ndarray  # (6, n) bool
    delay: np.ndarray  # (6, n) delivery delay per status version
    late: np.ndarray  # (n,) bool: the order-day versions are held back ...
    late_at: np.ndarray  # (n,) ... and delivered at this instant of the next day
    snapshot_until: int  # start of the start date: versions before it come with its snapshot ...
    snapshot_at: np.ndarray  # (n,) ... at this instant of the start date

    def due(self, statuses: list[int], lo: int, hi: int) -> np.ndarray:
        """(len(statuses), n) mask of the versions delivered in [lo, hi), one whole day.

        Comparisons only: a version arrives on its event's day, unless it is held back or lies
        in the order history before the start date (delivered with the start date's snapshot).
        """
        event = self.event_at[statuses]
        held = self.late & (event < self.next_day_us)
        held_due = lo <= self.next_day_us < hi
        on_day = np.where(held, held_due, (event >= lo) & (event < hi))
        in_snapshot = lo <= self.snapshot_until < hi
        return self.has_event[statuses] & np.where(event < self.snapshot_until, in_snapshot, on_day)

    def current_state(self) -> np.ndarray:
        """(6, n) mask of the order versions the source delivers as rows: of the versions before
        the start date only each order's latest one (the snapshot is the source's current state,
        not its change log), and every version after it (the change log of each business date).
        """
        before = self.has_event & (self.event_at < self.snapshot_until)
        latest = np.argmax(np.where(before, self.event_at, np.iinfo(np.int64).min), axis=0)
        keep = ~before
        keep[latest, np.arange(keep.shape[1])] |= before.any(axis=0)
        return keep

    def arrival(self, status: np.ndarray | int, pos: np.ndarray) -> np.ndarray:
        """Delivery instants of the selected versions."""
        event = self.event_at[status, pos]
        held = self.late[pos] & (event < self.next_day_us)
        on_day = np.where(held, self.late_at[pos], _arrival(event, self.delay[status, pos]))
        return np.where(event < self.snapshot_until, self.snapshot_at[pos], on_day)


@dataclass
class _Lines:
    """All order lines of a chunk, flattened in (order, line) order."""

    order_pos: np.ndarray  # per line: index of its order in the chunk
    order_item_id: np.ndarray
    product_id: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    discount: np.ndarray
    dup: np.ndarray
    dup_delay: np.ndarray
    order_total: np.ndarray  # per order, cents: sum(quantity * unit_price - discount)


@dataclass
class _CustomerState:
    """Cumulative (city, segment) steps of every customer existing at the start of ``day``.

    Steps add modulo the vocabulary sizes, so a customer's value at the start of ``day`` is its
    initial one plus its offset: the same integers as replaying each change in day order.
    """

    day: int
    city_offset: np.ndarray  # by 0-based customer index
    segment_offset: np.ndarray


@dataclass
class _ReplayCache:
    """Replayed state of the last few days, so consecutive dates replay one day each."""

    keep: int = 4
    catalog: dict[int, _Catalog] = field(default_factory=dict)
    customers: dict[int, _CustomerState] = field(default_factory=dict)
    popularity: np.ndarray | None = None
    base_created: np.ndarray | None = None  # created_at of the base population, by index
    churn_at: np.ndarray | None = None  # churn instant of customers 1..len, by index
    activity: np.ndarray | None = None  # customer_activity of customers 1..len, by index

    def nearest(self, states: dict, day: int):
        known = [d for d in states if d <= day]
        return states[max(known)] if known else None

    def store(self, states: dict, day: int, state) -> None:
        if day not in states and len(states) >= self.keep:
            states.pop(min(states))
        states[day] = state


# --- the simulator ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ShopSimulator:
    """Generates the increment a shop's source system delivers on one business date.

    A value: its data is a pure function of its fields. Replay state lives in
    :func:`_replay_cache`, keyed by the (equal, hashable) simulator.
    """

    seed: int = 42
    scale_factor: float = 1.0
    start_date: date = s.START_DATE

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")
        if not (math.isfinite(self.scale_factor) and self.scale_factor > 0):
            raise ValueError(f"scale_factor must be a positive number, got {self.scale_factor!r}")

    # --- volumes ------------------------------------------------------------------------------
    @property
    def n_base_customers(self) -> int:
        return max(s.MIN_BASE_CUSTOMERS, int(s.BASE_CUSTOMERS * self.scale_factor))

    @property
    def n_signups(self) -> int:
        return max(1, round(s.SIGNUPS_PER_DAY * self.scale_factor))

    @property
    def n_base_products(self) -> int:
        return max(s.MIN_BASE_PRODUCTS, int(s.BASE_PRODUCTS * self.scale_factor))

    # --- calendar -----------------------------------------------------------------------------
    def day_index(self, business_date: date) -> int:
        """Days since ``start_date``; a date before it has no data and is an error."""
        if not isinstance(business_date, date):
            raise TypeError(f"business_date must be a date, got {type(business_date).__name__}")
        if business_date < self.start_date:
            raise ValueError(
                f"business_date {business_date} is before the source's start_date "
                f"{self.start_date}: the shop has no data for it."
            )
        return (business_date - self.start_date).days

    def _start_us(self, day: int) -> int:
        return ((self.start_date - _EPOCH).days + day) * DAY_US

    # --- public API ---------------------------------------------------------------------------
    def increment(self, table: str, business_date: date) -> Iterator[pa.Table]:
        """Rows of ``table`` delivered on ``business_date``, as chunk-sized Arrow tables."""
        builders: dict[str, Callable[[int], Iterator[pa.Table]]] = {
            "customers": self._customers,
            "products": self._products,
            "orders": self._orders,
            "order_items": self._order_items,
            "payments": self._payments,
        }
        if table not in builders:
            raise ValueError(f"unknown table {table!r}; the shop has {', '.join(TABLES)}")
        return builders[table](self.day_index(business_date))

    def batches(self, table: str, business_date: date, batch_size: int) -> Iterator[pa.Table]:
        """Like ``increment`` but re-sliced into tables of at most ``batch_size`` rows."""
        return rebatch(self.increment(table, business_date), batch_size)

    def read(self, table: str, business_date: date) -> pa.Table:
        """The whole increment of one table in memory (tests and small scale factors)."""
        parts = list(self.increment(table, business_date))
        if not parts:
            return SCHEMAS[table].empty_table()
        return pa.concat_tables(parts).combine_chunks()

    # --- customers ----------------------------------------------------------------------------
    def _customer_created(self, ids: np.ndarray) -> np.ndarray:
        """created_at of customers by id; increasing with id (so 'existing at t' is a prefix)."""
        ids = np.asarray(ids, dtype=np.int64)
        n0, n_new = self.n_base_customers, self.n_signups
        u = _hash_uniform(self.seed, Stream.CUSTOMER_STATIC, 0, ids)
        history = s.HISTORY_DAYS * DAY_US
        out = np.empty(len(ids), dtype=np.int64)
        base = ids <= n0
        slot = (ids[base] - 1).astype(np.float64) + 0.05 + 0.9 * u[base]
        out[base] = self._start_us(0) - history + (slot * (history / n0)).astype(np.int64)
        signup = ids[~base] - n0 - 1
        day, i = signup // n_new + 1, signup % n_new
        slot = i.astype(np.float64) + 0.05 + 0.9 * u[~base]
        out[~base] = self._start_us(0) + day * DAY_US + (slot * (DAY_US / n_new)).astype(np.int64)
        return out

    def _customers_before(self, day: int, t_us: np.ndarray) -> np.ndarray:
        """Number of customers created strictly before each instant of ``day``."""
        if day < 0:  # the order history: a prefix of the base population
            cache = _replay_cache(self)
            if cache.base_created is None:
                ids = np.arange(1, self.n_base_customers + 1, dtype=np.int64)
                cache.base_created = self._customer_created(ids)
            return np.searchsorted(cache.base_created, t_us, side="left").astype(np.int64)
        if day == 0:
            return np.full(len(t_us), self.n_base_customers, dtype=np.int64)
        prior = self.n_base_customers + (day - 1) * self.n_signups
        created = self._customer_created(prior + 1 + np.arange(self.n_signups))
        return prior + np.searchsorted(created, t_us, side="left")

    def _customer_profile(self, ids: np.ndarray) -> tuple[np.ndarray, ...]:
        """Static names and the initial (city, segment) of customers by id."""
        h = [_hash_uniform(self.seed, Stream.CUSTOMER_STATIC, salt, ids) for salt in (1, 2, 3, 4)]
        first = (h[0] * len(s.FIRST_NAMES)).astype(np.int64)
        last = (h[1] * len(s.LAST_NAMES)).astype(np.int64)
        city = _pick(h[2], (w for _, _, w in s.CITIES))
        return first, last, city, self._initial_segment(ids)

    def _initial_segment(self, ids: np.ndarray) -> np.ndarray:
        return _pick(_hash_uniform(self.seed, Stream.CUSTOMER_STATIC, 4, ids), s.SEGMENT_WEIGHTS)

    def customer_traits(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(return_prone, cancel_prone) of customers by id: hidden, seen only in their orders."""
        u_return = _hash_uniform(self.seed, Stream.CUSTOMER_STATIC, 5, ids)
        u_cancel = _hash_uniform(self.seed, Stream.CUSTOMER_STATIC, 6, ids)
        return u_return < s.RETURN_PRONE_SHARE, u_cancel < s.CANCEL_PRONE_SHARE

    def customer_activity(self, ids: np.ndarray) -> np.ndarray:
        """How readily each customer takes an order it is offered, in (0, 1): hidden, heavy
        tailed (most customers order now and then, a few often), seen only as order frequency."""
        u = _hash_uniform(self.seed, Stream.CUSTOMER_STATIC, 8, np.asarray(ids, dtype=np.int64))
        return u**s.ACTIVITY_EXPONENT

    def churn_at(self, ids: np.ndarray) -> np.ndarray:
        """The instant (us) after which each customer never orders again: the churn rule."""
        ids = np.asarray(ids, dtype=np.int64)
        return_prone, cancel_prone = self.customer_traits(ids)
        hazard = (
            np.asarray(s.SEGMENT_CHURN_HAZARD)[self._initial_segment(ids)]
            * np.where(return_prone, s.RETURN_PRONE_HAZARD, 1.0)
            * np.where(cancel_prone, s.CANCEL_PRONE_HAZARD, 1.0)
        )
        u = _hash_uniform(self.seed, Stream.CUSTOMER_STATIC, 7, ids)
        days = s.CHURN_MIN_LIFETIME_DAYS - np.log1p(-u) * s.CHURN_MEAN_LIFETIME_DAYS / hazard
        return self._customer_created(ids) + (days * DAY_US).astype(np.int64)

    def _churn_lookup(self, n_customers: int) -> tuple[np.ndarray, np.ndarray]:
        """churn_at and activity of customers 1..n (index = id - 1), computed once per customer."""
        cache = _replay_cache(self)
        known = cache.churn_at if cache.churn_at is not None else np.empty(0, dtype=np.int64)
        if len(known) < n_customers:
            ids = np.arange(len(known) + 1, n_customers + 1, dtype=np.int64)
            cache.churn_at = known = np.concatenate([known, self.churn_at(ids)])
            activity = cache.activity if cache.activity is not None else np.empty(0)
            cache.activity = np.concatenate([activity, self.customer_activity(ids)])
        return known, cache.activity

    def _choose_customers(
        self, day: int, ordered: np.ndarray, u: np.ndarray, u_accept: np.ndarray
    ) -> np.ndarray:
        """Customer of each order: the first of its candidates that exists, has not churned and
        takes it (with its activity, ``customer_activity``).

        Candidates favour long-standing customers (``CUSTOMER_SKEW``). When no candidate takes
        the order, the first one not churned does; when none is (rare), the newest existing
        customer, created less than ``CHURN_MIN_LIFETIME_DAYS`` ago and so active, takes it: no
        customer ever orders after ``churn_at``.
        """
        existing = self._customers_before(day, ordered)
        pick = np.floor(existing[:, None] * u**s.CUSTOMER_SKEW).astype(np.int64)
        candidates = np.minimum(pick, existing[:, None] - 1) + 1
        churn, activity = self._churn_lookup(int(existing.max(initial=0)))
        alive = churn[candidates - 1] > ordered[:, None]
        takes = alive & (u_accept < activity[candidates - 1])
        rows = np.arange(len(ordered))
        first_taker = candidates[rows, takes.argmax(axis=1)]
        first_alive = candidates[rows, alive.argmax(axis=1)]
        return np.where(
            takes.any(axis=1), first_taker, np.where(alive.any(axis=1), first_alive, existing)
        )

    def _customer_events(self, day: int) -> tuple[np.ndarray, ...]:
        """Profile changes of ``day`` (>= 1): at most one per customer existing at its start."""
        rng = _rng(self.seed, Stream.CUSTOMER_EVENTS, day)
        n_exist = self.n_base_customers + (day - 1) * self.n_signups
        k = int(rng.binomial(n_exist, s.CUSTOMER_CHANGE_RATE))
        ids = rng.choice(n_exist, size=k, replace=False).astype(np.int64) + 1
        is_address = rng.random(k) < s.ADDRESS_CHANGE_SHARE
        city_step = rng.integers(1, len(s.CITIES), size=k)
        segment_step = rng.integers(1, len(s.SEGMENTS), size=k)
        at = self._start_us(day) + rng.integers(0, DAY_US, size=k, dtype=np.int64)
        delay = _uniform_us(rng, s.ARRIVAL_DELAY, k)
        signup_delay = _uniform_us(rng, s.ARRIVAL_DELAY, self.n_signups)
        order = np.argsort(ids)
        return (
            ids[order],
            is_address[order],
            city_step[order],
            segment_step[order],
            at[order],
            delay[order],
            signup_delay,
        )

    def _customer_table(self, ids, city, segment, created, updated, arrived) -> pa.Table:
        first, last, _, _ = self._customer_profile(ids)
        first_names = _labels(s.FIRST_NAMES, first)
        last_names = _labels(s.LAST_NAMES, last)
        email = pc.binary_join_element_wise(
            pc.utf8_lower(first_names),
            ".",
            pc.utf8_lower(last_names),
            pc.cast(pa.array(ids, pa.int64()), pa.string()),
            "@example.com",
            "",
        )
        return _table(
            "customers",
            {
                "customer_id": ids,
                "first_name": first_names,
                "last_name": last_names,
                "email": email,
                "city": _labels((c for c, _, _ in s.CITIES), city),
                "country": _labels((c for _, c, _ in s.CITIES), city),
                "segment": _labels(s.SEGMENTS, segment),
                "created_at": _timestamps(created),
                "updated_at": _timestamps(updated),
                "_arrived_at": _timestamps(arrived),
            },
        )

    def _customers(self, day: int) -> Iterator[pa.Table]:
        if day == 0:  # the base population, delivered as a snapshot
            n0 = self.n_base_customers
            for lo in range(0, n0, s.CHUNK_SIZE):
                ids = np.arange(lo + 1, min(lo + s.CHUNK_SIZE, n0) + 1, dtype=np.int64)
                _, _, city, segment = self._customer_profile(ids)
                created = self._customer_created(ids)
                yield self._customer_table(
                    ids, city, segment, created, created, self._snapshot_arrival(ids, 0)
                )
            return
        ids, is_address, city_step, segment_step, at, delay, signup_delay = self._customer_events(
            day
        )
        # State at the start of the day of today's changed customers: their initial profile plus
        # the earlier days' changes (replayed once per day, see _customer_state).
        _, _, city, segment = self._customer_profile(ids)
        state = self._customer_state(day)
        city = (city + state.city_offset[ids - 1]) % len(s.CITIES)
        segment = (segment + state.segment_offset[ids - 1]) % len(s.SEGMENTS)
        city = np.where(is_address, (city + city_step) % len(s.CITIES), city)
        segment = np.where(~is_address, (segment + segment_step) % len(s.SEGMENTS), segment)
        yield self._customer_table(
            ids, city, segment, self._customer_created(ids), at, _arrival(at, delay)
        )
        first = self.n_base_customers + (day - 1) * self.n_signups + 1
        new_ids = np.arange(first, first + self.n_signups, dtype=np.int64)
        _, _, city, segment = self._customer_profile(new_ids)
        created = self._customer_created(new_ids)
        yield self._customer_table(
            new_ids, city, segment, created, created, _arrival(created, signup_delay)
        )

    def _customer_state(self, day: int) -> _CustomerState:
        """Offsets at the start of ``day`` (>= 1), advanced from the nearest cached earlier day."""
        cache = _replay_cache(self)
        known = cache.nearest(cache.customers, day)
        n_exist = self.n_base_customers + (day - 1) * self.n_signups
        city = np.zeros(n_exist, dtype=np.int64)
        segment = np.zeros(n_exist, dtype=np.int64)
        past = 1
        if known is not None:
            city[: len(known.city_offset)] = known.city_offset
            segment[: len(known.segment_offset)] = known.segment_offset
            past = known.day
        for event_day in range(past, day):  # each change hits a customer existing on its day
            ids, is_address, city_step, segment_step, *_ = self._customer_events(event_day)
            pos = ids - 1
            a, g = pos[is_address], pos[~is_address]
            city[a] = (city[a] + city_step[is_address]) % len(s.CITIES)
            segment[g] = (segment[g] + segment_step[~is_address]) % len(s.SEGMENTS)
        state = _CustomerState(day, city, segment)
        cache.store(cache.customers, day, state)
        return state

    def _snapshot_arrival(self, ids: np.ndarray, salt: int) -> np.ndarray:
        u = _hash_uniform(self.seed, Stream.SNAPSHOT, salt, ids)
        return self._start_us(0) + (u * (s.SNAPSHOT_WINDOW * US)).astype(np.int64)

    # --- products -----------------------------------------------------------------------------
    def _product_static(self, ids: np.ndarray) -> tuple[np.ndarray, ...]:
        """Category, name parts and list price (cents, ending in .99) of products by id."""
        h = [_hash_uniform(self.seed, Stream.PRODUCT_STATIC, salt, ids) for salt in (1, 2, 3, 4)]
        categories = list(s.CATEGORIES.values())
        category = (h[0] * len(categories)).astype(np.int64)
        noun = (h[1] * len(categories[0][0])).astype(np.int64)
        adjective = (h[2] * len(s.ADJECTIVES)).astype(np.int64)
        lo = np.array([c[1][0] for c in categories], dtype=np.float64)[category]
        hi = np.array([c[1][1] for c in categories], dtype=np.float64)[category]
        dollars = np.ceil(lo * (hi / lo) ** h[3] / 100.0)
        price = np.maximum(dollars.astype(np.int64) * 100 - 1, s.MIN_PRICE_CENTS)
        return category, noun, adjective, price

    def _product_events(self, day: int, price: np.ndarray) -> _Catalog:
        """Draw the events of ``day`` (>= 1) on top of the prices at its start."""
        rng = _rng(self.seed, Stream.PRODUCT_EVENTS, day)
        n_start = len(price)
        n_new = int(rng.poisson(s.NEW_PRODUCTS_PER_DAY * self.scale_factor))
        new_created = _stratified(self._start_us(day), DAY_US, n_new, rng.random(n_new))
        k = int(rng.binomial(n_start, s.PRICE_CHANGE_RATE))
        idx = np.sort(rng.choice(n_start, size=k, replace=False).astype(np.int64))
        pct = rng.uniform(s.PRICE_CHANGE_MIN, s.PRICE_CHANGE_MAX, size=k)
        up = rng.random(k) < 0.5
        at = self._start_us(day) + rng.integers(0, DAY_US, size=k, dtype=np.int64)
        old = price[idx].astype(np.float64)
        up |= np.rint(old * (1 - pct)) < s.MIN_PRICE_CENTS  # cheapest products can only go up
        new = np.rint(old * np.where(up, 1 + pct, 1 - pct)).astype(np.int64)
        new_ids = n_start + 1 + np.arange(n_new, dtype=np.int64)
        return _Catalog(
            day=day,
            price=price,
            created=np.empty(0, dtype=np.int64),
            new_created=new_created,
            new_price=self._product_static(new_ids)[3],
            new_delay=_uniform_us(rng, s.ARRIVAL_DELAY, n_new),
            change_idx=idx,
            change_time=at,
            change_price=np.maximum(new, s.MIN_PRICE_CENTS),
            change_delay=_uniform_us(rng, s.ARRIVAL_DELAY, k),
        )

    def _catalog(self, day: int) -> _Catalog:
        """Product state at the start of ``day`` and the day's events, replayed from day 0."""
        cache = _replay_cache(self)
        cat = cache.nearest(cache.catalog, day)
        if cat is None:
            ids = np.arange(1, self.n_base_products + 1, dtype=np.int64)
            u = _hash_uniform(self.seed, Stream.PRODUCT_STATIC, 0, ids)
            # The catalogue exists before the order history begins.
            span = (s.HISTORY_DAYS - s.ORDER_HISTORY_DAYS) * DAY_US
            created = _stratified(self._start_us(0) - s.HISTORY_DAYS * DAY_US, span, len(ids), u)
            empty = np.empty(0, dtype=np.int64)
            cat = _Catalog(
                0,
                self._product_static(ids)[3],
                created,
                empty,
                empty,
                empty,
                empty,
                empty,
                empty,
                empty,
            )
        while cat.day < day:
            price = cat.price.copy()
            price[cat.change_idx] = cat.change_price
            price = np.concatenate([price, cat.new_price])
            created = np.concatenate([cat.created, cat.new_created])
            cat = self._product_events(cat.day + 1, price)
            cat.created = created
        cache.store(cache.catalog, day, cat)
        return cat

    def _product_table(self, ids, price, created, updated, arrived) -> pa.Table:
        category, noun, adjective, _ = self._product_static(ids)
        categories = list(s.CATEGORIES)
        nouns = [noun_ for c in categories for noun_ in s.CATEGORIES[c][0]]
        per_category = len(s.CATEGORIES[categories[0]][0])
        name = pc.binary_join_element_wise(
            _labels(s.ADJECTIVES, adjective), _labels(nouns, category * per_category + noun), " "
        )
        sku = pc.binary_join_element_wise(
            "SKU-", pc.utf8_lpad(pc.cast(pa.array(ids, pa.int64()), pa.string()), 7, "0"), ""
        )
        return _table(
            "products",
            {
                "product_id": ids,
                "sku": sku,
                "product_name": name,
                "category": _labels(categories, category),
                "unit_price": _money(price),
                "created_at": _timestamps(created),
                "updated_at": _timestamps(updated),
                "_arrived_at": _timestamps(arrived),
            },
        )

    def _products(self, day: int) -> Iterator[pa.Table]:
        cat = self._catalog(day)
        if day == 0:
            for lo in range(0, cat.n_start, s.CHUNK_SIZE):
                ids = np.arange(lo + 1, min(lo + s.CHUNK_SIZE, cat.n_start) + 1, dtype=np.int64)
                created = cat.created[ids - 1]
                yield self._product_table(
                    ids, cat.price[ids - 1], created, created, self._snapshot_arrival(ids, 1)
                )
            return
        if len(cat.change_idx):
            idx = cat.change_idx
            yield self._product_table(
                idx + 1,
                cat.change_price,
                cat.created[idx],
                cat.change_time,
                _arrival(cat.change_time, cat.change_delay),
            )
        if len(cat.new_price):
            ids = cat.n_start + 1 + np.arange(len(cat.new_price), dtype=np.int64)
            yield self._product_table(
                ids,
                cat.new_price,
                cat.new_created,
                cat.new_created,
                _arrival(cat.new_created, cat.new_delay),
            )

    def _popularity(self) -> np.ndarray:
        """Fixed popularity ranking of the base catalogue (rank -> 0-based product index)."""
        cache = _replay_cache(self)
        if cache.popularity is None:
            rng = _rng(self.seed, Stream.PRODUCT_POPULARITY)
            cache.popularity = rng.permutation(self.n_base_products).astype(np.int64)
        return cache.popularity

    # --- orders -------------------------------------------------------------------------------
    def order_counts(self, last_day: int, first_day: int = 0) -> np.ndarray:
        """Orders placed on days first_day..last_day: ~500*sf, weekends x1.3, +-5% daily noise.

        Days before 0 are the order history delivered with the start date's snapshot.
        """
        days = np.arange(first_day, last_day + 1, dtype=np.int64)
        weekend = (self.start_date.weekday() + days) % 7 >= 5
        jitter = 1 + s.DAILY_ORDER_JITTER * (
            2 * _hash_uniform(self.seed, Stream.ORDER_COUNT, 0, days) - 1
        )
        volume = s.ORDERS_PER_DAY * self.scale_factor * np.where(weekend, s.WEEKEND_FACTOR, 1.0)
        return np.maximum(1, np.rint(volume * jitter)).astype(np.int64)

    def _order_rng(self, stream: Stream, day: int, chunk: int) -> np.random.Generator:
        """Order streams by day, counted from the first history day (seeds are non-negative)."""
        return _rng(self.seed, stream, day + s.ORDER_HISTORY_DAYS, chunk)

    def _order_chunks(self, day: int) -> Iterator[_OrderChunk]:
        counts = self.order_counts(day, first_day=-s.ORDER_HISTORY_DAYS)
        first_id = 1 + int(counts[:-1].sum())
        n_day = int(counts[-1])
        for chunk, lo in enumerate(range(0, n_day, s.CHUNK_SIZE)):
            n = min(s.CHUNK_SIZE, n_day - lo)
            yield self._order_chunk(day, chunk, first_id + lo, n)

    def _order_chunk(self, day: int, chunk: int, first_id: int, n: int) -> _OrderChunk:
        rng = self._order_rng(Stream.ORDER_HEADER, day, chunk)
        hour = _pick(rng.random(n), s.HOURLY_WEIGHTS)
        ordered = (
            self._start_us(day)
            + hour * 3_600 * US
            + rng.integers(0, 3_600 * US, size=n, dtype=np.int64)
        )
        customer_u = rng.random((n, s.CUSTOMER_CANDIDATES))
        channel = _pick(rng.random(n), s.CHANNEL_WEIGHTS)
        customer = self._choose_customers(
            day, ordered, customer_u, rng.random((n, s.CUSTOMER_CANDIDATES))
        )
        return_prone, cancel_prone = self.customer_traits(customer)

        rng = self._order_rng(Stream.ORDER_LIFECYCLE, day, chunk)
        cancelled = rng.random(n) < np.where(cancel_prone, s.CANCEL_PRONE_RATE, s.CANCEL_RATE)
        event = np.empty((6, n), dtype=np.int64)
        event[PLACED] = ordered
        event[PAID] = ordered + _uniform_us(rng, s.PAY_DELAY, n)
        event[CANCELLED] = ordered + _uniform_us(rng, s.CANCEL_DELAY, n)
        event[SHIPPED] = ordered + _uniform_us(rng, s.SHIP_DELAY, n)
        event[DELIVERED] = np.maximum(
            ordered + _uniform_us(rng, s.DELIVER_DELAY, n),
            event[SHIPPED] + _uniform_us(rng, s.DELIVER_AFTER_SHIP, n),
        )
        returned = rng.random(n) < np.where(return_prone, s.RETURN_PRONE_RATE, s.RETURN_RATE)
        event[RETURNED] = event[DELIVERED] + _uniform_us(rng, s.RETURN_AFTER_DELIVERY, n)
        # A late order's versions of its order day arrive together early the next day.
        late = (rng.random(n) < s.LATE_RATE) & (day >= 0)  # history comes in the snapshot
        late_at = self._start_us(day + 1) + _uniform_us(rng, (0, s.LATE_WINDOW), n)
        delay = _uniform_us(rng, s.ARRIVAL_DELAY, (6, n))

        has = np.empty((6, n), dtype=bool)
        has[PLACED] = True
        has[[PAID, SHIPPED, DELIVERED]] = ~cancelled
        has[CANCELLED] = cancelled
        has[RETURNED] = ~cancelled & returned
        order_id = np.arange(first_id, first_id + n, dtype=np.int64)
        return _OrderChunk(
            day=day,
            chunk=chunk,
            next_day_us=self._start_us(day + 1),
            order_id=order_id,
            ordered_at=ordered,
            customer_id=customer,
            channel=channel,
            event_at=event,
            has_event=has,
            delay=delay,
            late=late,
            late_at=late_at,
            snapshot_until=self._start_us(0),
            snapshot_at=self._snapshot_arrival(order_id, 2),
        )

    def _orders(self, day: int) -> Iterator[pa.Table]:
        lo, hi = self._start_us(day), self._start_us(day + 1)
        for placed_day in self._placed_days(day, s.LIFECYCLE_DAYS):
            for chunk in self._order_chunks(placed_day):
                due = chunk.due(list(range(len(s.STATUSES))), lo, hi) & chunk.current_state()
                status, pos = np.nonzero(due)
                if not len(pos):
                    continue
                order = np.lexsort((chunk.event_at[status, pos], pos))
                status, pos = status[order], pos[order]
                yield _table(
                    "orders",
                    {
                        "order_id": chunk.order_id[pos],
                        "customer_id": chunk.customer_id[pos],
                        "ordered_at": _timestamps(chunk.ordered_at[pos]),
                        "status": _labels(s.STATUSES, status),
                        "channel": _labels(s.CHANNELS, chunk.channel[pos]),
                        "updated_at": _timestamps(chunk.event_at[status, pos]),
                        "_arrived_at": _timestamps(chunk.arrival(status, pos)),
                    },
                )

    # --- order lines and payments -------------------------------------------------------------
    def _lines(self, chunk: _OrderChunk) -> _Lines:
        rng = self._order_rng(Stream.ORDER_ITEMS, chunk.day, chunk.chunk)
        n = len(chunk.order_id)
        n_lines = _pick(rng.random(n), s.LINES_WEIGHTS) + 1
        u_rank = rng.random((n, MAX_LINES))
        u_qty = rng.random((n, MAX_LINES))
        u_discount = rng.random((n, MAX_LINES))
        u_share = rng.random((n, MAX_LINES))
        u_dup = rng.random((n, MAX_LINES))
        dup_delay = _uniform_us(rng, s.DUPLICATE_DELAY, (n, MAX_LINES))

        # Products existing at ordered_at, drawn by a bounded Zipf(1)-like rank without
        # replacement within the order: rank r among M has P(r <= x) ~ log(x+1)/log(M+1).
        cat = self._catalog(max(chunk.day, 0))  # the history sells the start date's catalogue
        existing = cat.n_start + np.searchsorted(cat.new_created, chunk.ordered_at, side="left")
        rank = np.empty((n, MAX_LINES), dtype=np.int64)
        for j in range(MAX_LINES):
            m = (existing - j).astype(np.float64)
            r = np.minimum(np.floor((m + 1) ** u_rank[:, j]).astype(np.int64) - 1, m - 1)
            r = r.astype(np.int64)
            taken = np.sort(rank[:, :j], axis=1)
            for col in range(j):  # skip ranks already taken: the r-th of the remaining ones
                r += r >= taken[:, col]
            rank[:, j] = r

        line_mask = np.arange(MAX_LINES) < n_lines[:, None]
        order_pos = np.repeat(np.arange(n), n_lines)
        line_no = np.broadcast_to(np.arange(1, MAX_LINES + 1), (n, MAX_LINES))[line_mask]
        rank = rank[line_mask]
        popularity = self._popularity()
        base = rank < len(popularity)
        product_idx = np.where(base, popularity[np.minimum(rank, len(popularity) - 1)], rank)

        # The price valid at ordered_at: a change at T applies to orders at or after T.
        before, change_at, after = cat.price_lookup()
        created = chunk.ordered_at[order_pos]
        price = np.where(created >= change_at[product_idx], after[product_idx], before[product_idx])
        quantity = _pick(u_qty[line_mask], s.QUANTITY_WEIGHTS).astype(np.int64) + 1
        amount = quantity * price
        lo, hi = s.DISCOUNT_SHARE
        share = lo + (hi - lo) * u_share[line_mask]
        discount = np.where(
            u_discount[line_mask] < s.DISCOUNT_RATE,
            np.floor(amount * share + 0.5).astype(np.int64),
            0,
        )
        starts = np.cumsum(n_lines) - n_lines
        return _Lines(
            order_pos=order_pos,
            order_item_id=chunk.order_id[order_pos] * 10 + line_no,
            product_id=product_idx + 1,
            quantity=quantity,
            unit_price=price,
            discount=discount,
            dup=u_dup[line_mask] < s.DUPLICATE_RATE,
            dup_delay=dup_delay[line_mask],
            order_total=np.add.reduceat(amount - discount, starts),
        )

    def _placed_days(self, day: int, lookback: int) -> range:
        """Order days whose versions may arrive on ``day``: the start date takes all history."""
        first = -s.ORDER_HISTORY_DAYS if day == 0 else max(-s.ORDER_HISTORY_DAYS, day - lookback)
        return range(first, day + 1)

    def _recent_chunks(self, day: int) -> Iterator[_OrderChunk]:
        """Order chunks whose lines or payments may arrive on ``day``: placed that day or before."""
        for placed_day in self._placed_days(day, 1):
            yield from self._order_chunks(placed_day)

    def _order_items(self, day: int) -> Iterator[pa.Table]:
        lo, hi = self._start_us(day), self._start_us(day + 1)
        for chunk in self._recent_chunks(day):
            due = chunk.due([PLACED], lo, hi)[0]  # lines travel with the placement version
            if not due.any():
                continue
            lines = self._lines(chunk)
            sel = due[lines.order_pos]
            arrived = chunk.arrival(PLACED, lines.order_pos[sel])
            columns = {
                "order_item_id": lines.order_item_id[sel],
                "order_id": chunk.order_id[lines.order_pos][sel],
                "product_id": lines.product_id[sel],
                "quantity": lines.quantity[sel].astype(np.int32),
                "unit_price": lines.unit_price[sel],
                "discount_amount": lines.discount[sel],
                "created_at": chunk.ordered_at[lines.order_pos][sel],
            }
            yield self._with_resends(
                "order_items", columns, arrived, lines.dup[sel], lines.dup_delay[sel]
            )

    def _payments(self, day: int) -> Iterator[pa.Table]:
        lo, hi = self._start_us(day), self._start_us(day + 1)
        for chunk in self._recent_chunks(day):
            # Payments travel with the paid version (so a late order's come the next day).
            due = chunk.due([PAID], lo, hi)[0]
            if not due.any():
                continue
            rng = self._order_rng(Stream.PAYMENTS, chunk.day, chunk.chunk)
            n = len(chunk.order_id)
            split = rng.random(n) < s.SPLIT_PAYMENT_RATE
            method = _pick(rng.random(n), s.PAYMENT_METHOD_WEIGHTS)
            gift_share = rng.uniform(*s.GIFT_CARD_SHARE, size=n)
            u_dup = rng.random((2, n))
            dup_delay = _uniform_us(rng, s.DUPLICATE_DELAY, (2, n))
            total = self._lines(chunk).order_total
            gift = np.clip(np.floor(total * gift_share).astype(np.int64), 1, total - 1)
            first = due
            second = due & split
            pos = np.concatenate([np.nonzero(first)[0], np.nonzero(second)[0]])
            seq = np.concatenate([np.ones(first.sum(), np.int64), np.full(second.sum(), 2)])
            order = np.lexsort((seq, pos))
            pos, seq = pos[order], seq[order]
            is_split = split[pos]
            method_idx = np.where(seq == 2, _CARD, np.where(is_split, _GIFT_CARD, method[pos]))
            amount = np.where(
                seq == 2, total[pos] - gift[pos], np.where(is_split, gift[pos], total[pos])
            )
            columns = {
                "payment_id": chunk.order_id[pos] * 10 + seq,
                "order_id": chunk.order_id[pos],
                "payment_method": _labels(s.PAYMENT_METHODS, method_idx),
                "amount": amount,
                "paid_at": chunk.event_at[PAID][pos],
            }
            yield self._with_resends(
                "payments",
                columns,
                chunk.arrival(PAID, pos),
                u_dup[seq - 1, pos] < s.DUPLICATE_RATE,
                dup_delay[seq - 1, pos],
            )

    def _with_resends(
        self,
        name: str,
        columns: dict[str, np.ndarray | pa.Array],
        arrived: np.ndarray,
        dup: np.ndarray,
        dup_delay: np.ndarray,
    ) -> pa.Table:
        """Rows plus ~1% re-sends: identical rows delivered again minutes later, same day."""
        resent = arrived + dup_delay
        dup = dup & (_day_of(resent) == _day_of(arrived))
        idx = np.concatenate([np.arange(len(arrived)), np.nonzero(dup)[0]])
        out: dict[str, pa.Array] = {}
        for f in SCHEMAS[name]:
            if f.name == "_arrived_at":
                out[f.name] = _timestamps(np.concatenate([arrived, resent[dup]]))
                continue
            values = columns[f.name]
            if isinstance(values, pa.Array):
                out[f.name] = values.take(pa.array(idx))
            elif f.type == MONEY:
                out[f.name] = _money(values[idx])
            elif f.type == TIMESTAMP:
                out[f.name] = _timestamps(values[idx])
            else:
                out[f.name] = pa.array(values[idx], f.type)
        return _table(name, out)


@lru_cache(maxsize=8)
def _replay_cache(simulator: ShopSimulator) -> _ReplayCache:
    """The replay state of ``simulator``; equal simulators generate equal data, so they share it."""
    return _ReplayCache()


def clear_replay_cache() -> None:
    """Forget every kept replay state (tests use it to generate a date cold)."""
    _replay_cache.cache_clear()
