"""The seeded world that feeds every sandbox.

One ``World(seed, size)`` describes ``size`` companies, their people, a product
catalogue, orders and invoices. Every object is computed from ``(seed, kind,
index)`` alone, so iterating a million companies keeps memory flat and any
object can be fetched at random (``world.company(123456)``).

Ground truth: objects of the same kind and index are the same real-world entity.
Each sandbox projects them into its own shape with :class:`Noise` (typos,
other formats, missing fields) and reports which world index every record
came from (``truth`` helpers below), so matching can be scored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

BASE_TIME = dt.datetime(2026, 1, 5, 8, 0, 0, tzinfo=dt.timezone.utc)

_COUNTRIES = [
    # code, currency, vat prefix, cities (city, postcode, region), street words, phone cc
    ("DE", "EUR", "DE", [("Berlin", "10115", "BE"), ("München", "80331", "BY"), ("Hamburg", "20095", "HH"),
                         ("Köln", "50667", "NW"), ("Stuttgart", "70173", "BW")], ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee"], "49"),
    ("FR", "EUR", "FR", [("Paris", "75001", "IDF"), ("Lyon", "69001", "ARA"), ("Toulouse", "31000", "OCC")],
     ["Rue de la Paix", "Avenue Victor Hugo", "Boulevard Voltaire"], "33"),
    ("GB", "GBP", "GB", [("London", "EC1A 1BB", "ENG"), ("Manchester", "M1 1AE", "ENG"), ("Leeds", "LS1 1UR", "ENG")],
     ["High Street", "Station Road", "Church Lane"], "44"),
    ("US", "USD", "US", [("New York", "10001", "NY"), ("Chicago", "60601", "IL"), ("Austin", "73301", "TX"),
                         ("Seattle", "98101", "WA")], ["Main Street", "Oak Avenue", "Market Street"], "1"),
    ("NL", "EUR", "NL", [("Amsterdam", "1012 AB", "NH"), ("Rotterdam", "3011 AA", "ZH")], ["Kerkstraat", "Dorpsstraat"], "31"),
    ("CN", "CNY", "CN", [("Shanghai", "200000", "SH"), ("Beijing", "100000", "BJ"), ("Shenzhen", "518000", "GD")],
     ["Nanjing Road", "Huaihai Road", "Chang'an Avenue"], "86"),
]
_LEGAL = {"DE": ["GmbH", "AG", "GmbH & Co. KG"], "FR": ["SA", "SARL", "SAS"], "GB": ["Ltd", "PLC", "LLP"],
          "US": ["Inc", "LLC", "Corp"], "NL": ["B.V.", "N.V."], "CN": ["有限公司", "Co., Ltd."]}
_STEMS = ["Acme", "Nordwind", "Bluepeak", "Silverline", "Orbis", "Kestrel", "Vantage", "Helix", "Lumen", "Ironwood",
          "Polaris", "Crescent", "Meridian", "Sparrow", "Granite", "Cobalt", "Aurora", "Redwood", "Summit", "Tidewater",
          "Falcon", "Juniper", "Northstar", "Quantum", "Riverside", "Sterling", "Harbor", "Evergreen", "Zenith", "Atlas"]
_SUFFIX = ["Systems", "Logistics", "Foods", "Industries", "Software", "Trading", "Medical", "Energy", "Textiles",
           "Robotics", "Analytics", "Pharma", "Motors", "Retail", "Consulting", "Materials", "Optics", "Labs"]
_INDUSTRY = ["Manufacturing", "Retail", "Technology", "Healthcare", "Energy", "Logistics", "Food & Beverage", "Finance"]
_CJK_STEMS = ["华为", "东方", "长城", "金山", "海星", "天宇", "中兴", "永安", "宏达", "瑞丰", "恒通", "新世纪"]
_CJK_SUFFIX = ["科技", "贸易", "物流", "制造", "医药", "能源", "电子", "食品"]
_FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Hannah", "Ivan", "Julia", "Karl", "Lena",
          "Marco", "Nina", "Oliver", "Paula", "Quentin", "Rosa", "Stefan", "Tara", "Uwe", "Vera", "William", "Yuki"]
_LAST = ["Müller", "Schmidt", "Dubois", "Martin", "Smith", "Jones", "Johnson", "Brown", "de Vries", "Jansen",
         "Wagner", "Becker", "Moreau", "Taylor", "Wilson", "Fischer", "Weber", "Bernard", "Clark", "Lewis"]
_CJK_SURNAME = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
_CJK_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛"]
_TITLES = ["Purchasing Manager", "CFO", "Head of IT", "Buyer", "Sales Director", "Accounts Payable", "CEO"]
_UNITS = ["EA", "KG", "M", "L", "PAK", "H"]
_GROUPS = ["Hardware", "Software", "Services", "Spare Parts", "Consumables"]
_TERMS = ["NET30", "NET45", "NET60", "NET14", "DUE"]
_OWNERS = ["a.weber@example.com", "j.smith@example.com", "l.chen@example.com", "m.rossi@example.com"]


_PHONE = {  # country -> (fixed line, mobile) templates; '#' is a random digit
    "DE": ("+4930########", "+49151########"), "FR": ("+331########", "+336########"),
    "GB": ("+4420########", "+447700######"), "US": ("+1206#######", "+1312#######"),
    "NL": ("+3120#######", "+316########"), "CN": ("+8621########", "+86138########"),
}


def _phone(r: random.Random, country: str, mobile: bool = False) -> str:
    """A phone number in E.164 that libphonenumber accepts as valid for the country."""
    import phonenumbers

    template = _PHONE[country][1 if mobile else 0]
    for _ in range(50):
        n = "".join(str(r.randrange(10)) if ch == "#" else ch for ch in template)
        if phonenumbers.is_valid_number(phonenumbers.parse(n)):
            return n
    return n  # pragma: no cover - every template above yields valid numbers quickly


def _rng(seed: int, kind: str, index: int) -> random.Random:
    digest = hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _ts(rng: random.Random, days: int = 300) -> dt.datetime:
    # Whole seconds, and deliberately coarse so that several records share a timestamp.
    return BASE_TIME + dt.timedelta(days=rng.randrange(days), seconds=rng.randrange(0, 86400, 60))


@dataclass(frozen=True)
class Company:
    index: int
    world_id: str
    name: str              # trading name without legal form
    legal_form: str
    cjk_name: str          # 中文 name used by Chinese CRMs
    country: str
    currency: str
    street: str
    postal_code: str
    city: str
    region: str
    tax_id: str
    duns: str
    phone: str             # E.164
    website: str
    email: str
    industry: str
    credit_limit: Decimal
    payment_terms: str
    lifecycle: str         # customer | prospect
    erp_number: str
    owner: str
    employees: int
    annual_revenue: Decimal
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.legal_form}"


@dataclass(frozen=True)
class Person:
    index: int
    world_id: str
    company_index: int
    first_name: str
    last_name: str
    cjk_name: str
    email: str
    phone: str
    mobile: str
    job_title: str
    birth_date: dt.date
    updated_at: dt.datetime
    national_id: str = ""          # a social-security style number, unique per person
    street: str = ""               # home address (shared by a household under PersonNoise.family)
    postal_code: str = ""
    city: str = ""


@dataclass(frozen=True)
class PersonNoise:
    """Rates of the noise real person data has, per projected record (all 0: off, the default).

    ``typo``: per name, e-mail and id a swapped, dropped or doubled character; ``phonetic``: a name
    spelled as it sounds (Meyer/Maier, Schmidt/Schmitt, Philip/Filip); ``swap_names``: first and last
    name swapped; ``swap_day_month``: birth date with day and month transposed (where both are <= 12);
    ``missing``: each optional field left empty; ``family``: a person shares the surname, home address
    and landline of the person before them (a household: different people, much in common);
    ``duplicate``: a system holds the person twice (deduplication inside one system)."""

    typo: float = 0.0
    phonetic: float = 0.0
    swap_names: float = 0.0
    swap_day_month: float = 0.0
    missing: float = 0.0
    family: float = 0.0
    duplicate: float = 0.0

    @classmethod
    def realistic(cls) -> "PersonNoise":
        return cls(typo=0.15, phonetic=0.05, swap_names=0.05, swap_day_month=0.03, missing=0.15, family=0.1,
                   duplicate=0.05)

    @property
    def off(self) -> bool:
        return not any((self.typo, self.phonetic, self.swap_names, self.swap_day_month, self.missing, self.family,
                        self.duplicate))


_PHONETIC = [("ph", "f"), ("f", "ph"), ("ei", "ai"), ("ai", "ei"), ("ey", "ei"), ("dt", "tt"), ("tt", "dt"),
             ("ck", "k"), ("k", "ck"), ("ie", "y"), ("y", "ie"), ("th", "t"), ("mm", "m"), ("nn", "n"),
             ("ss", "s"), ("c", "k"), ("z", "s"), ("v", "w"), ("ou", "u"), ("ae", "e")]


@dataclass(frozen=True)
class Product:
    index: int
    world_id: str
    sku: str
    name: str
    description: str
    group: str
    unit: str
    list_price: Decimal
    currency: str
    gtin: str
    weight_kg: Decimal
    active: bool
    updated_at: dt.datetime


@dataclass(frozen=True)
class OrderLine:
    line_number: int
    product_index: int
    sku: str
    quantity: Decimal
    unit: str
    unit_price: Decimal

    @property
    def net_amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Order:
    index: int
    world_id: str
    order_number: str
    company_index: int
    order_date: dt.date
    requested_delivery_date: dt.date
    status: str
    currency: str
    customer_reference: str
    lines: tuple[OrderLine, ...]
    updated_at: dt.datetime

    @property
    def net_amount(self) -> Decimal:
        return sum((ln.net_amount for ln in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class Invoice:
    index: int
    world_id: str
    invoice_number: str
    order_index: int
    company_index: int
    invoice_date: dt.date
    due_date: dt.date
    currency: str
    amount: Decimal
    open_amount: Decimal
    status: str
    updated_at: dt.datetime


class World:
    """A deterministic world of ``size`` companies (and ~2 people each, orders, invoices)."""

    def __init__(self, seed: int = 42, size: int = 100, person_noise: PersonNoise | None = None) -> None:
        if size < 1:
            raise ValueError("a world needs at least one company")
        self.seed, self.size = seed, size
        self.person_noise = person_noise or PersonNoise()
        self.n_people = size * 2
        self.n_products = max(10, min(5000, size // 5))
        self.n_orders = size
        self.n_invoices = size

    # ---- single objects -----------------------------------------------------------------
    def company(self, i: int) -> Company:
        r = _rng(self.seed, "company", i)
        code, cur, vat, cities, streets, _cc = _COUNTRIES[r.randrange(len(_COUNTRIES))]
        city, postcode, region = r.choice(cities)
        stem, suffix = r.choice(_STEMS), r.choice(_SUFFIX)
        # The index makes names unique enough for a realistic (not trivial) matching task.
        name = f"{stem} {suffix} {_alpha(i)}" if i >= len(_STEMS) * len(_SUFFIX) // 4 else f"{stem} {suffix}"
        legal = r.choice(_LEGAL[code])
        host = f"{stem}{suffix}{i}".lower().replace(" ", "")
        created = _ts(r, 200)
        return Company(
            index=i, world_id=f"C{i:07d}", name=name, legal_form=legal,
            cjk_name=f"{r.choice(_CJK_STEMS)}{r.choice(_CJK_SUFFIX)}{_cjk_num(i)}有限公司",
            country=code, currency=cur, street=f"{r.choice(streets)} {r.randrange(1, 200)}",
            postal_code=postcode, city=city, region=region,
            tax_id=f"{vat}{100000000 + (i * 7919 + self.seed) % 900000000:09d}",
            duns=f"{(i * 104729 + 15485863 + self.seed) % 1000000000:09d}",
            phone=_phone(r, code),
            website=f"https://www.{host}.example.com", email=f"info@{host}.example.com",
            industry=r.choice(_INDUSTRY),
            credit_limit=Decimal(r.randrange(5, 500) * 1000), payment_terms=r.choice(_TERMS),
            lifecycle="customer" if r.random() < 0.7 else "prospect",
            erp_number=f"{1000000 + i}", owner=r.choice(_OWNERS),
            employees=r.randrange(5, 20000), annual_revenue=Decimal(r.randrange(1, 5000) * 10000),
            created_at=created, updated_at=created + dt.timedelta(days=r.randrange(0, 60)),
        )

    def person(self, i: int) -> Person:
        r = _rng(self.seed, "person", i)
        first, last = r.choice(_FIRST), r.choice(_LAST)
        company_index = i // 2 if i // 2 < self.size else r.randrange(self.size)
        c = self.company(company_index)
        host = c.email.split("@", 1)[1]
        local = f"{first}.{last}".lower().replace(" ", "").replace("ü", "ue").replace("ö", "oe")
        person = Person(
            index=i, world_id=f"P{i:07d}", company_index=company_index, first_name=first, last_name=last,
            cjk_name=f"{r.choice(_CJK_SURNAME)}{r.choice(_CJK_GIVEN)}{r.choice(_CJK_GIVEN)}",
            email=f"{local}{i}@{host}", phone=_phone(r, c.country),
            mobile=_phone(r, c.country, mobile=True), job_title=r.choice(_TITLES),
            birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=r.randrange(0, 15000)), updated_at=_ts(r),
        )
        # Identity and home: drawn from their own stream, so the fields above never change.
        h = _rng(self.seed, "person-home", i)
        _code, _cur, _vat, cities, streets, _cc = _COUNTRIES[h.randrange(len(_COUNTRIES))]
        city, postcode, _region = h.choice(cities)
        ssn = (i * 7_368_787 + 100_000_007 + self.seed) % 900_000_000 + 100_000_000
        person = replace(person, national_id=f"{str(ssn)[:3]}-{str(ssn)[3:5]}-{str(ssn)[5:]}",
                         street=f"{h.choice(streets)} {h.randrange(1, 300)}", postal_code=postcode, city=city)
        fam = self.person_noise.family
        if fam and i % 2 == 1 and _rng(self.seed, "family", i).random() < fam:
            head = self.person(i - 1)       # even index: never itself a household member, no recursion
            person = replace(person, last_name=head.last_name, street=head.street, postal_code=head.postal_code,
                             city=head.city, phone=head.phone)
        return person

    def person_copies(self, system: str, i: int) -> int:
        """How many records ``system`` holds of person ``i`` (2 with PersonNoise.duplicate)."""
        d = self.person_noise.duplicate
        return 2 if d and _rng(self.seed, f"dup:{system}", i).random() < d else 1

    def person_view(self, system: str, i: int, copy: int = 0) -> dict[str, object]:
        """Person ``i`` as ``system`` holds it (flat canonical contact fields), with the person noise."""
        p, pn = self.person(i), self.person_noise
        n = Noise(_rng(self.seed, f"pnoise:{system}:{copy}", i))
        first, last = p.first_name, p.last_name
        if pn.phonetic:
            first, last = n.phonetic(first, pn.phonetic), n.phonetic(last, pn.phonetic)
        first, last = n.typo(first, pn.typo), n.typo(last, pn.typo)
        if n.chance(pn.swap_names):
            first, last = last, first
        bd = p.birth_date
        if n.chance(pn.swap_day_month) and bd.day <= 12 and bd.day != bd.month:
            bd = dt.date(bd.year, bd.day, bd.month)
        email = n.typo(p.email, pn.typo / 3)
        nid = n.typo(p.national_id, pn.typo / 3)

        def opt(v: object) -> object:
            return n.maybe(v, pn.missing)

        return {"first_name": opt(first), "last_name": last, "birth_date": opt(bd.isoformat()), "email": opt(email),
                "phone": opt(p.phone), "mobile": opt(p.mobile), "national_id": opt(nid),
                "mailing_address.street": opt(p.street), "mailing_address.postal_code": opt(p.postal_code),
                "mailing_address.city": opt(p.city)}

    def product(self, i: int) -> Product:
        r = _rng(self.seed, "product", i)
        group = r.choice(_GROUPS)
        stem = r.choice(_STEMS)
        return Product(
            index=i, world_id=f"M{i:07d}", sku=f"MAT-{i:06d}", name=f"{stem} {group[:-1] if group.endswith('s') else group} {i}",
            description=f"{stem} {group.lower()} item number {i}", group=group, unit=r.choice(_UNITS),
            list_price=Decimal(r.randrange(100, 500000)) / 100, currency="EUR",
            gtin=f"40{i:011d}", weight_kg=Decimal(r.randrange(1, 50000)) / 1000, active=r.random() > 0.05,
            updated_at=_ts(r),
        )

    def order(self, i: int) -> Order:
        r = _rng(self.seed, "order", i)
        company_index = r.randrange(self.size)
        c = self.company(company_index)
        odate = (BASE_TIME + dt.timedelta(days=r.randrange(0, 300))).date()
        lines = []
        for n in range(1, r.randrange(1, 5) + 1):
            pi = r.randrange(self.n_products)
            p = self.product(pi)
            lines.append(OrderLine(n, pi, p.sku, Decimal(r.randrange(1, 50)), p.unit, p.list_price))
        return Order(index=i, world_id=f"O{i:07d}", order_number=f"{5000000 + i}", company_index=company_index,
                     order_date=odate, requested_delivery_date=odate + dt.timedelta(days=r.randrange(3, 30)),
                     status=r.choice(["open", "open", "in_process", "completed", "cancelled"]), currency=c.currency,
                     customer_reference=f"PO-{r.randrange(10000, 99999)}", lines=tuple(lines), updated_at=_ts(r))

    def invoice(self, i: int) -> Invoice:
        r = _rng(self.seed, "invoice", i)
        o = self.order(i)
        amount = (o.net_amount * Decimal("1.19")).quantize(Decimal("0.01"))
        paid = r.choice([Decimal(0), amount, (amount / 2).quantize(Decimal("0.01"))])
        open_amount = amount - paid
        status = "paid" if open_amount == 0 else ("partially_paid" if paid else "open")
        idate = o.order_date + dt.timedelta(days=r.randrange(1, 20))
        return Invoice(index=i, world_id=f"I{i:07d}", invoice_number=f"90{i:08d}", order_index=i,
                       company_index=o.company_index, invoice_date=idate, due_date=idate + dt.timedelta(days=30),
                       currency=o.currency, amount=amount, open_amount=open_amount, status=status, updated_at=_ts(r))

    # ---- streams (constant memory) ------------------------------------------------------
    def companies(self, start: int = 0, stop: int | None = None) -> Iterator[Company]:
        for i in range(start, self.size if stop is None else min(stop, self.size)):
            yield self.company(i)

    def people(self) -> Iterator[Person]:
        return (self.person(i) for i in range(self.n_people))

    def products(self) -> Iterator[Product]:
        return (self.product(i) for i in range(self.n_products))

    def orders(self) -> Iterator[Order]:
        return (self.order(i) for i in range(self.n_orders))

    def invoices(self) -> Iterator[Invoice]:
        return (self.invoice(i) for i in range(self.n_invoices))

    # ---- presence: which system holds which object (ground truth of overlaps) ------------
    def present(self, system: str, kind: str, index: int, share: float) -> bool:
        """Deterministically: does ``system`` hold object ``index`` of ``kind``? ``share`` in [0, 1]."""
        return _rng(self.seed, f"presence:{system}:{kind}", index).random() < share

    def noise(self, system: str, kind: str, index: int) -> "Noise":
        """A noise source private to one projection of one object (deterministic)."""
        return Noise(_rng(self.seed, f"noise:{system}:{kind}", index))


def _alpha(i: int) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    out = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, len(letters))
        out = letters[rem] + out
    return out


def _cjk_num(i: int) -> str:
    digits = "零一二三四五六七八九"
    return "".join(digits[int(d)] for d in str(i))


class Noise:
    """Realistic, seeded corruption used when a sandbox projects world objects."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def typo(self, s: str, p: float = 0.1) -> str:
        """With probability p: swap, drop or double one letter (never the first)."""
        if len(s) < 4 or not self.chance(p):
            return s
        i = self.rng.randrange(1, len(s) - 1)
        op = self.rng.randrange(3)
        if op == 0:
            return s[:i] + s[i + 1] + s[i] + s[i + 2:]
        if op == 1:
            return s[:i] + s[i + 1:]
        return s[:i] + s[i] + s[i:]

    def case(self, s: str, p: float = 0.1) -> str:
        if not self.chance(p):
            return s
        return self.rng.choice([s.upper(), s.lower(), s.title()])

    def maybe(self, value: object, p_missing: float = 0.05) -> object:
        return None if self.chance(p_missing) else value

    def phonetic(self, s: str, p: float = 0.05) -> str:
        """With probability p: one spelling that sounds the same (``Meyer`` -> ``Maier``, ``Schmidt`` -> ``Schmitt``)."""
        if not s or not self.chance(p):
            return s
        low = s.lower()
        options = [(a, b) for a, b in _PHONETIC if a in low[1:]]
        if not options:
            return s
        a, b = self.rng.choice(options)
        at = low.index(a, 1)
        return s[:at] + b + s[at + len(a):]

    def spaces(self, s: str, p: float = 0.05) -> str:
        return f" {s}  " if self.chance(p) else s

    def street(self, s: str, p: float = 0.3) -> str:
        if not self.chance(p):
            return s
        for long, short in (("straße", "str."), ("Street", "St."), ("Avenue", "Ave."), ("Road", "Rd.")):
            if long in s:
                return s.replace(long, short)
        return s

    def phone(self, e164: str, p: float = 0.5) -> str:
        """Write an E.164 number the way people type it."""
        if not self.chance(p):
            return e164
        cc_len = 1 if e164.startswith("+1") else 2
        cc, rest = e164[1:1 + cc_len], e164[1 + cc_len:]
        return self.rng.choice([f"+{cc} {rest[:3]} {rest[3:]}", f"00{cc}-{rest}", f"+{cc} ({rest[:3]}) {rest[3:6]}-{rest[6:]}"])
