"""Relational vs non-relational storage, made concrete with the standard library's sqlite3.

A small shop is stored twice: as related tables (users, orders) in an in-memory SQLite
database, and as one JSON document per user in a key-value table and in a Python dict.
The same questions are then answered both ways.

>>> shop = sample_shop(users=50, seed=1)
>>> shop.orders_of(7) == shop.document(7)["orders"]
True
"""

import functools
import json
import sqlite3
import time

import numpy as np
import pandas as pd

from ..core import validation as check
from ..present import charts, scales

FIRST_NAMES = ("Minji", "Jisoo", "Alex", "Sam", "Yuna", "Chris", "Hyun", "Dana", "Jun", "Mia", "Leo", "Sora")
CITIES = ("Seoul", "Busan", "Incheon", "Daegu", "Daejeon", "Gwangju")
ITEMS = {"keyboard": 45.0, "mouse": 20.0, "monitor": 180.0, "laptop stand": 35.0, "headset": 60.0, "webcam": 50.0}

ORDERS_OF_USER = """
SELECT users.name, orders.id AS order_id, orders.item, orders.amount
FROM users JOIN orders ON orders.user_id = users.id
WHERE users.id = ?
ORDER BY orders.id
"""

REVENUE_PER_CITY = """
SELECT users.city, COUNT(*) AS orders, ROUND(SUM(orders.amount), 2) AS revenue
FROM orders JOIN users ON users.id = orders.user_id
GROUP BY users.city
ORDER BY revenue DESC, users.city
"""


class Shop:
    """One shop's data held both ways: ``sql`` (tables users, orders, documents) and ``kv`` (a dict).

    ``documents`` is a key-value table inside the same SQLite file: key ``"user:<id>"`` -> JSON text.
    """

    def __init__(self, users, orders):
        self.sql = sqlite3.connect(":memory:")
        self.sql.executescript("""
            CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                                 item TEXT NOT NULL, amount REAL NOT NULL);
            CREATE INDEX orders_by_user ON orders(user_id);
            CREATE TABLE documents (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """)
        self.sql.executemany("INSERT INTO users VALUES (?, ?, ?)", users)
        self.sql.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)
        self.kv = {}
        for user_id, name, city in users:
            self.kv[f"user:{user_id}"] = json.dumps({"id": user_id, "name": name, "city": city, "orders": []})
        documents = {key: json.loads(value) for key, value in self.kv.items()}
        for order_id, user_id, item, amount in orders:
            documents[f"user:{user_id}"]["orders"].append({"order_id": order_id, "item": item, "amount": amount})
        self.kv = {key: json.dumps(doc) for key, doc in documents.items()}
        self.sql.executemany("INSERT INTO documents VALUES (?, ?)", self.kv.items())
        self.sql.commit()
        self.user_ids = [u[0] for u in users]

    def __repr__(self):
        counts = {t: self.sql.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("users", "orders")}
        return f"<Shop: {counts['users']:,} users, {counts['orders']:,} orders, stored as tables and as documents>"

    def table(self, sql, params=()):
        """The rows of a SQL query as a DataFrame (columns named as the query names them)."""
        cursor = self.sql.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])

    def orders_of(self, user_id):
        """Relational: one user's orders, by joining the users and orders tables."""
        rows = self.sql.execute(ORDERS_OF_USER, (user_id,)).fetchall()
        return [{"order_id": order_id, "item": item, "amount": amount} for _, order_id, item, amount in rows]

    def document(self, user_id):
        """Key-value: one user's whole document (profile and orders), read by its key and decoded."""
        return json.loads(self.kv[f"user:{user_id}"])

    def document_from_sql(self, user_id):
        """Key-value inside SQLite: the same document read from the ``documents`` table by primary key."""
        (value,) = self.sql.execute("SELECT value FROM documents WHERE key = ?", (f"user:{user_id}",)).fetchone()
        return json.loads(value)

    def revenue_per_city(self):
        """Relational: an ad-hoc question across both tables, answered by the database (JOIN + GROUP BY)."""
        return [tuple(row) for row in self.sql.execute(REVENUE_PER_CITY).fetchall()]

    def revenue_per_city_from_documents(self):
        """Key-value: the same question, answered by reading and decoding every document in application code."""
        totals = {}
        for value in self.kv.values():
            doc = json.loads(value)
            count, revenue = totals.get(doc["city"], (0, 0.0))
            totals[doc["city"]] = (count + len(doc["orders"]), revenue + sum(o["amount"] for o in doc["orders"]))
        rows = [(city, count, round(revenue, 2)) for city, (count, revenue) in totals.items() if count]
        return sorted(rows, key=lambda row: (-row[2], row[0]))


MAX_ORDERS = 5_000_000


def sample_shop(users=1_000, orders_per_user=5, seed=0):
    """A small online shop with made-up, seeded data: ``users`` users, about ``orders_per_user`` orders each.

    >>> shop = sample_shop(users=3, orders_per_user=2, seed=0)
    >>> shop.table("SELECT * FROM users").columns.tolist()
    ['id', 'name', 'city']
    """
    check.number("users", users, low=1, high=1_000_000, integer=True)
    check.number("orders_per_user", orders_per_user, low=0, high=1_000)
    if users * orders_per_user > MAX_ORDERS:
        raise ValueError(f"users x orders_per_user must be at most {MAX_ORDERS:,} (an in-memory example shop); "
                         f"got {users:,} x {orders_per_user:,}")
    check.number("seed", seed, low=0, integer=True)
    rng = np.random.default_rng(seed)
    people = [(k + 1, f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))]} {k + 1}", CITIES[rng.integers(len(CITIES))])
              for k in range(users)]
    counts = rng.poisson(orders_per_user, users)
    names = list(ITEMS)
    orders, order_id = [], 0
    for (user_id, _, _), n in zip(people, counts):
        for _ in range(int(n)):
            order_id += 1
            item = names[rng.integers(len(names))]
            orders.append((order_id, user_id, item, ITEMS[item]))
    return Shop(people, orders)


# -- timing the two kinds of question ---------------------------------------------------------

OPERATIONS = (
    ("one user's orders", "relational: SQL JOIN", "orders_of"),
    ("one user's orders", "key-value: get by key (SQLite table)", "document_from_sql"),
    ("one user's orders", "key-value: get by key (in-memory dict)", "document"),
    ("revenue per city", "relational: SQL JOIN + GROUP BY", "revenue_per_city"),
    ("revenue per city", "key-value: read every document", "revenue_per_city_from_documents"),
)


def time_operations(shop, lookups=500, repeats=7, seed=0):
    """Microseconds per answer for each way in :data:`OPERATIONS`, rounded to 2 significant figures.

    Each way is run ``repeats`` times and the fastest run is kept (the usual rule for timing
    small operations: slower runs measure interruptions by other programs).  Timings depend on
    the machine; the ratios between rows are what carries over.
    """
    check.number("lookups", lookups, low=1, high=1_000_000, integer=True)
    check.number("repeats", repeats, low=1, high=100, integer=True)
    ids = np.random.default_rng(seed).choice(shop.user_ids, lookups).tolist()
    rows = []
    for question, way, method in OPERATIONS:
        run = getattr(shop, method)
        one_user = question == "one user's orders"
        calls = ids if one_user else [None] * max(1, lookups // 100)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for user_id in calls:
                run(user_id) if one_user else run()
            times.append((time.perf_counter() - start) / len(calls) * 1e6)
        rows.append({"question": question, "way": way, "microseconds": _round(min(times))})
    return pd.DataFrame(rows)


def _round(value, digits=2):
    return float(f"{value:.{digits}g}")


def timing_chart(table):
    """Bars of :func:`time_operations` output: time per answer (log scale), one panel per question.

    >>> chart = timing_chart(pd.DataFrame([{"question": "q", "way": "relational: x", "microseconds": 3.0}]))
    """
    return charts.with_data(_timing_chart(), {"timings": table.assign(kind=table["way"].str.split(":").str[0])})


@functools.lru_cache(maxsize=1, typed=True)
def _timing_chart():
    x = scales.log_axis("x", "microseconds:Q", "time per answer (µs, log scale)", (1, 1_000_000), ticks="auto",
                        format=None)
    kinds = scales.color("kind:N", {"relational": "blue", "key-value": "orange"}, legend=charts.legend("store"))
    bars = charts.bars("timings", x, charts.nominal("way:N", label_limit=260), kinds,
                       tooltip=("question:N", "way:N", "microseconds:Q"), text=("microseconds:Q", ",.2~r"), height=None)
    return charts.by_row(bars, "question:N", [o[0] for o in OPERATIONS[::3]], charts.title(
        "The same questions, two ways of storing the data",
        "in-memory SQLite and a Python dict; fastest of several runs"))


# -- which kind of database? -------------------------------------------------------------------

KINDS = {
    "relational (RDBMS)": ("MySQL", "Oracle Database", "PostgreSQL"),
    "key-value store": ("Amazon DynamoDB", "Redis"),
    "graph store": ("Neo4j",),
    "column store": ("Cassandra", "HBase"),
    "document store": ("CouchDB", "MongoDB"),
}

NOSQL_REASONS = {
    "latency": "your application needs very low latency at a scale one relational server cannot carry",
    "unstructured": "your data is unstructured, or has no relations between its parts",
    "serialize": "you only need to serialize and deserialize data (JSON, YAML, XML, ...)",
    "massive": "you need to store a massive amount of data",
}

# (description, answer, the reason that decides it); the key of exercise 2.1
_SCENARIOS = (
    ("A bank's ledger: accounts, customers and transfers between accounts, with monthly statements "
     "that combine all three", "relational", "related tables queried together with joins"),
    ("An ad service answering two million lookups a second, each a user's profile fetched by its id within "
     "2 ms, from profiles spread over dozens of machines", "nosql", "latency"),
    ("Raw event logs from millions of phones, each event a bag of fields that differ from app version "
     "to app version", "nosql", "unstructured"),
    ("A shopping cart that the app saves as one JSON blob per session and loads back whole, never "
     "searched by its contents", "nosql", "serialize"),
    ("A university's course registration: students, courses, teachers and enrolments, with rules such as "
     "'at most 30 students per course'", "relational", "related tables with rules across them"),
    ("Every sensor reading from a fleet of wind turbines, kept for ten years: petabytes of data", "nosql",
     "massive"),
    ("An online shop's back office, where staff ask new questions every week, such as revenue per city "
     "for last month's orders", "relational", "ad-hoc questions that join tables"),
)

SCENARIOS = tuple(description for description, _, _ in _SCENARIOS)


def judge(choices):
    """Hints for each scenario whose choice is missing or not the chapter's answer; an empty list if all are right.

    ``choices`` maps each description in :data:`SCENARIOS` to "relational" or "nosql".

    >>> judge({d: "relational" for d in SCENARIOS})[0][:40]
    'An ad service answering two million look'
    """
    if not isinstance(choices, dict):
        return [f"choices should be a dict mapping each of the {len(SCENARIOS)} descriptions in SCENARIOS to "
                f"'relational' or 'nosql'; got {type(choices).__name__}"]
    hints = []
    for description, answer, reason in _SCENARIOS:
        short = description[:60] + "..."
        choice = choices.get(description)
        if choice not in ("relational", "nosql"):
            hints.append(f"{short}: answer 'relational' or 'nosql' (got {choice!r})")
        elif choice != answer:
            why = (f"think about the NoSQL reason '{NOSQL_REASONS[reason]}'" if answer == "nosql" else
                   f"this is a job for {reason}: a NoSQL store usually cannot join")
            hints.append(f"{short}: {why}")
    return hints
