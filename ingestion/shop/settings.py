"""Constants of the synthetic shop: volumes, rates, lifecycle timings and vocabularies.

Every rate is per business day and every volume is at ``scale_factor=1``; the simulator scales
volumes linearly. Changing any value here changes the generated data for every seed.
"""

from __future__ import annotations

from datetime import date

# --- calendar and chunking ----------------------------------------------------------------------
START_DATE = date(2024, 1, 1)
HISTORY_DAYS = 730  # the base population/catalogue was created over the 2 years before START_DATE
# Orders placed over this many days before START_DATE are delivered with the start-date snapshot
# (a churn model needs a past to learn from: features before a cutoff, a label window after it).
# The base catalogue was created before this order history began.
ORDER_HISTORY_DAYS = 120
CHUNK_SIZE = 65_536  # orders (or snapshot rows) generated per internal chunk; fixes the RNG streams
DEFAULT_BATCH_SIZE = 100_000  # max rows per Arrow table handed to dlt

# --- customers -----------------------------------------------------------------------------------
BASE_CUSTOMERS = 2_000
MIN_BASE_CUSTOMERS = 20
SIGNUPS_PER_DAY = 20
CUSTOMER_CHANGE_RATE = 0.01  # share of existing customers changing per day
ADDRESS_CHANGE_SHARE = 0.6  # the rest are segment changes
SEGMENTS = ("consumer", "small_business", "corporate")
SEGMENT_WEIGHTS = (0.80, 0.15, 0.05)

# --- products ------------------------------------------------------------------------------------
BASE_PRODUCTS = 100
MIN_BASE_PRODUCTS = 50
NEW_PRODUCTS_PER_DAY = 0.2  # Poisson mean per unit of scale factor
PRICE_CHANGE_RATE = 0.02
PRICE_CHANGE_MIN, PRICE_CHANGE_MAX = 0.05, 0.25
MIN_PRICE_CENTS = 50

# --- orders --------------------------------------------------------------------------------------
ORDERS_PER_DAY = 500
WEEKEND_FACTOR = 1.3
DAILY_ORDER_JITTER = 0.05  # +-5% day-to-day noise on the order count
CUSTOMER_SKEW = 1.3  # >1: long-standing (low id) customers order more often
CUSTOMER_CANDIDATES = 32  # draws per order until an active (not yet churned) customer takes it
# Activity: a candidate takes an offered order with probability u ** ACTIVITY_EXPONENT (u a hash
# of its id), so order frequencies are heavy tailed: some customers order often, most now and
# then, and a quiet fortnight means more for the former than for the latter.
ACTIVITY_EXPONENT = 3.0

# --- churn (the signal a churn model can learn; ingestion/shop/README.md states the rule) --------
# Each customer stops ordering for good at churn_at = created_at + CHURN_MIN_LIFETIME_DAYS +
# Exponential(mean CHURN_MEAN_LIFETIME_DAYS / hazard); hazard multiplies the factors below.
CHURN_MIN_LIFETIME_DAYS = 60
CHURN_MEAN_LIFETIME_DAYS = 300  # of a consumer with neither trait
SEGMENT_CHURN_HAZARD = (1.0, 0.6, 0.3)  # by SEGMENTS (the customer's initial segment)
RETURN_PRONE_SHARE = 0.30  # customers who return much more often ...
RETURN_PRONE_RATE = 0.40  # ... this share of their delivered orders ...
RETURN_PRONE_HAZARD = 4.0  # ... and churn this many times faster
CANCEL_PRONE_SHARE = 0.25  # customers who cancel much more often ...
CANCEL_PRONE_RATE = 0.40  # ... this share of their orders ...
CANCEL_PRONE_HAZARD = 4.0  # ... and churn this many times faster
CHANNELS = ("web", "mobile", "store")
CHANNEL_WEIGHTS = (0.55, 0.35, 0.10)
STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
# Hour-of-day profile of orders (UTC): quiet nights, lunch and evening peaks.
HOURLY_WEIGHTS = (
    1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8,
    9, 8, 7, 7, 7, 8, 9, 10, 9, 7, 4, 2,
)  # fmt: skip

# Lifecycle, as offsets from ordered_at (seconds) unless said otherwise.
CANCEL_RATE = 0.04  # of the orders of customers who are not cancel-prone
PAY_DELAY = (60, 15 * 60)
CANCEL_DELAY = (30 * 60, 12 * 3600)
SHIP_DELAY = (24 * 3600, 48 * 3600)
DELIVER_DELAY = (48 * 3600, 120 * 3600)
DELIVER_AFTER_SHIP = (4 * 3600, 12 * 3600)  # delivery is always at least this long after shipping
RETURN_RATE = 0.02  # of delivered orders of customers who are not return-prone
RETURN_AFTER_DELIVERY = (3 * 86_400, 10 * 86_400)
# Latest event: 5 days to delivery + 10 days to return = 15 days after ordered_at, so an order's
# last version lands at most 16 calendar days after the order date.
LIFECYCLE_DAYS = 16

# --- order lines and payments --------------------------------------------------------------------
LINES_WEIGHTS = (0.30, 0.25, 0.20, 0.15, 0.10)  # 1..5 lines, mean 2.5
QUANTITY_WEIGHTS = (0.55, 0.25, 0.10, 0.06, 0.04)  # quantity 1..5
DISCOUNT_RATE = 0.20
DISCOUNT_SHARE = (0.05, 0.20)  # of the line amount
PAYMENT_METHODS = ("card", "paypal", "bank_transfer", "gift_card")
PAYMENT_METHOD_WEIGHTS = (0.60, 0.25, 0.10, 0.05)  # single-payment orders
SPLIT_PAYMENT_RATE = 0.10  # gift_card + card
GIFT_CARD_SHARE = (0.10, 0.60)  # of a split order's total

# --- delivery ------------------------------------------------------------------------------------
ARRIVAL_DELAY = (1, 120)  # seconds between an event and its delivery by the source
SNAPSHOT_WINDOW = 3_600  # the start-date snapshot arrives within its first hour
LATE_RATE = 0.02  # orders whose same-day rows arrive the next day
LATE_WINDOW = 3 * 3_600  # ... within the first 3 hours of that next day
DUPLICATE_RATE = 0.01  # order_items / payments rows re-sent in the same increment
DUPLICATE_DELAY = (60, 600)  # seconds after the original delivery

# --- vocabularies --------------------------------------------------------------------------------
FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Mateo",
    "Amelia", "Leon", "Hannah", "Jonas", "Chloe", "Hugo", "Lea", "Louis", "Ines", "Luca",
    "Giulia", "Marco", "Sofia", "Pablo", "Lucia", "Javier", "Maja", "Oskar", "Freya", "Erik",
    "Aisha", "Omar", "Yuki", "Hiro", "Mei", "Wei", "Priya", "Arjun", "Zara", "Kofi",
    "Ana", "Joao", "Camila", "Diego", "Nora", "Felix", "Clara", "Anton", "Elin", "Milan",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martin", "Bernard", "Dubois",
    "Moreau", "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Lopez", "Gonzalez", "Fernandez", "Sanchez", "Perez", "Jansen",
    "DeVries", "Bakker", "Visser", "Smit", "Nielsen", "Hansen", "Larsen", "Andersson",
    "Johansson", "Nowak", "Kowalski", "Novak", "Silva", "Santos", "Costa", "Tanaka", "Sato",
    "Kim", "Lee", "Chen", "Wang", "Patel", "Singh", "Okafor",
)  # fmt: skip
# (city, ISO-2 country, weight): where customers live.
CITIES = (
    ("New York", "US", 8), ("Los Angeles", "US", 6), ("Chicago", "US", 5), ("Austin", "US", 3),
    ("Toronto", "CA", 4), ("Vancouver", "CA", 2), ("Mexico City", "MX", 3),
    ("Sao Paulo", "BR", 4), ("Buenos Aires", "AR", 2), ("London", "GB", 7),
    ("Manchester", "GB", 3), ("Dublin", "IE", 2), ("Paris", "FR", 6), ("Lyon", "FR", 2),
    ("Berlin", "DE", 5), ("Munich", "DE", 3), ("Hamburg", "DE", 2), ("Amsterdam", "NL", 3),
    ("Brussels", "BE", 2), ("Madrid", "ES", 4), ("Barcelona", "ES", 3), ("Lisbon", "PT", 2),
    ("Rome", "IT", 3), ("Milan", "IT", 3), ("Zurich", "CH", 2), ("Vienna", "AT", 2),
    ("Stockholm", "SE", 2), ("Copenhagen", "DK", 2), ("Oslo", "NO", 1), ("Warsaw", "PL", 2),
    ("Prague", "CZ", 1), ("Tokyo", "JP", 5), ("Osaka", "JP", 2), ("Seoul", "KR", 3),
    ("Singapore", "SG", 2), ("Sydney", "AU", 3), ("Melbourne", "AU", 2), ("Auckland", "NZ", 1),
    ("Mumbai", "IN", 3), ("Cape Town", "ZA", 1),
)  # fmt: skip
# category -> (product nouns, (min price, max price) in cents; prices are log-uniform).
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "electronics": (
        ("Headphones", "Speaker", "Charger", "Keyboard", "Mouse", "Webcam"),
        (1_500, 40_000),
    ),
    "home": (("Lamp", "Cushion", "Vase", "Blanket", "Clock", "Mirror"), (800, 15_000)),
    "kitchen": (("Kettle", "Knife Set", "Pan", "Mug", "Blender", "Grinder"), (600, 20_000)),
    "apparel": (("T-Shirt", "Hoodie", "Jacket", "Sneakers", "Scarf", "Cap"), (900, 18_000)),
    "beauty": (("Serum", "Shampoo", "Lotion", "Perfume", "Lip Balm", "Soap"), (300, 9_000)),
    "sports": (
        ("Yoga Mat", "Dumbbell", "Water Bottle", "Racket", "Backpack", "Helmet"),
        (700, 25_000),
    ),
    "books": (("Novel", "Cookbook", "Atlas", "Notebook", "Comic", "Guide"), (500, 6_000)),
    "toys": (("Puzzle", "Board Game", "Plush", "Kite", "Robot Kit", "Blocks"), (400, 12_000)),
}
ADJECTIVES = (
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Nordic", "Pro", "Smart", "Urban",
    "Vintage", "Wireless", "Premium", "Travel", "Everyday", "Organic", "Studio",
)  # fmt: skip
