"""Reference data: users, currencies, units, terms, the chart of accounts, addresses,
suppliers, items, contracts, lookups, exchange rates and budgets."""

from __future__ import annotations

from typing import Any

from coupa_connector.sandbox._store import format_instant
from coupa_connector.sandbox.seed._base import BASE_TS, SEED_USER_LOGIN, SPAN, Seeder
from coupa_connector.sandbox.seed._details import SupplierFacts, TermFacts, supplier_details
from coupa_connector.sandbox.seed._documented import DOCUMENTED_ITEMS
from coupa_connector.sandbox.seed._vocabulary import (
    CITIES,
    CO_A,
    CO_B,
    CO_C,
    COMMODITIES,
    COUNTRIES,
    CURRENCIES,
    DEPARTMENTS,
    FIRST,
    LAST,
    PAYMENT_TERMS,
    PRODUCTS,
    REGIONS,
    SEGMENTS_1,
    SEGMENTS_2,
    SEGMENTS_3,
    SHIPPING_TERMS,
    STREETS,
    SUPPLIER_TIERS,
    TO_USD,
    UOMS,
    money,
    ref,
)

__all__ = ["seed_reference"]


def seed_reference(seeder: Seeder) -> None:
    """Reference data; their ids stay in the seeder for the transactions."""
    rng, ids = seeder.rng, seeder.ids
    scale = max(1.0, seeder.size / 1000)
    n_users = min(1000, int(20 * scale**0.5) + 10)
    n_suppliers = min(3000, int(25 * scale**0.6) + 15)
    n_items = min(2000, int(40 * scale**0.5) + 20)

    # Users first: everything else is created by the admin user.
    users: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i in range(n_users):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        login = f"{first[0]}{last}".lower()
        if i == 0:
            first, last, login = "Coupa", "Admin", SEED_USER_LOGIN
        while login in seen:
            login = f"{login}{rng.randint(2, 99)}"
        seen.add(login)
        users.append(
            {
                "login": login,
                "email": f"{login}@example.com",
                "firstname": first,
                "lastname": last,
                "fullname": f"{first} {last}",
                "employee-number": f"E{10000 + i}",
                "active": rng.random() > 0.05 or i == 0,
                "authentication-method": "coupa_credentials" if i % 3 else "saml",
                "purchasing-user": True,
                "expense-user": rng.random() > 0.3,
                "salesforce-id": None,
                # Custom fields come from i, not rng, so the rest of the data is unchanged.
                "custom-fields": {
                    "cost-center": f"CC-{SEGMENTS_2[i % len(SEGMENTS_2)]}",
                    "region": REGIONS[i % len(REGIONS)],
                },
            }
        )
    first_user = seeder.store.reserve_ids("users", len(users))
    ids.admin = first_user
    ids.users = list(range(first_user, first_user + len(users)))
    for rid, row in zip(ids.users, users, strict=True):
        row["id"] = rid
        seeder.stamp(row, BASE_TS - SPAN - 86400 * 60 + rid * 60)
        ids.user_names[rid] = str(row["fullname"])

    currencies = [
        {"code": c, "name": n, "decimals": d, "symbol": s, "enabled-flag": True}
        for c, n, d, s in CURRENCIES
    ]
    for currency, rid in zip(CURRENCIES, seeder.simple("currencies", currencies), strict=True):
        ids.currencies[currency[0]] = rid
    # Countries are embedded data in Coupa's payloads, not a resource of their own.
    ids.countries = {code: 200 + n for n, (code, _) in enumerate(COUNTRIES)}
    ids.uoms = seeder.simple(
        "uoms",
        [{"code": c, "name": n, "allowable-precision": p, "active": True} for c, n, p in UOMS],
    )
    ids.shipping_terms = seeder.simple(
        "shipping_terms",
        [{"code": c, "description": d, "active": True} for c, d in SHIPPING_TERMS],
    )
    ids.payment_terms = seeder.simple(
        "payment_terms",
        [
            {
                "code": c,
                "type": "DaysAfterNetPaymentTerm",
                "days-for-net-payment": net,
                "days-for-discount-payment": disc,
                "discount-rate": None if rate is None else float(rate),
                "active": True,
                "description": c,
            }
            for c, net, disc, rate in PAYMENT_TERMS
        ],
    )
    ids.term_facts = {
        rid: TermFacts(net, disc, None if rate is None else float(rate))
        for rid, (_, net, disc, rate) in zip(ids.payment_terms, PAYMENT_TERMS, strict=True)
    }
    ids.departments = seeder.simple(
        "departments", [{"name": n, "active": True} for n in DEPARTMENTS]
    )
    ids.commodities = seeder.simple(
        "commodities",
        [
            {"name": n, "category": cat, "active": True, "deductibility": None}
            for n, cat in COMMODITIES
        ],
    )
    ids.account_types = seeder.simple(
        "account_types",
        [
            {"name": "US COA", "active": True, "currency": ref(ids.currencies["USD"])},
            {"name": "EU COA", "active": True, "currency": ref(ids.currencies["EUR"])},
        ],
    )
    accounts: list[dict[str, Any]] = []
    for at_index, at_id in enumerate(ids.account_types):
        for s1 in SEGMENTS_1[: 2 + at_index]:
            for s2 in SEGMENTS_2:
                s3 = SEGMENTS_3[(len(accounts) * 7) % len(SEGMENTS_3)]
                accounts.append(
                    {
                        "name": f"{s2} {s3} ({s1})",
                        "code": f"{s1}-{s2}-{s3}",
                        "active": True,
                        "account-type": ref(at_id),
                        "segment-1": s1,
                        "segment-2": s2,
                        "segment-3": s3,
                    }
                )
    ids.accounts = seeder.simple("accounts", accounts)

    addresses: list[dict[str, Any]] = []
    for i in range(max(12, n_suppliers // 2 + 6)):
        city, state, country = CITIES[i % len(CITIES)]
        addresses.append(
            {
                "name": f"{city} {'HQ' if i < len(CITIES) else 'Site ' + str(i)}",
                "location-code": f"LOC-{i + 1:04d}",
                "street1": f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
                "street2": None,
                "city": city,
                "state": state,
                "postal-code": f"{rng.randint(10000, 99999)}",
                "country": {
                    "id": ids.countries[country],
                    "code": country,
                    "name": dict(COUNTRIES)[country],
                },
                "attention": None,
                "active": True,
            }
        )
    ids.addresses = seeder.simple("addresses", addresses)
    ids.address_countries = {
        rid: str(a["country"]["code"]) for rid, a in zip(ids.addresses, addresses, strict=True)
    }
    for row in users:
        row["default-address"] = ref(rng.choice(ids.addresses[:6]))
        row["department"] = ref(rng.choice(ids.departments))
    seeder.put("users", users)

    def primary_address(address: dict[str, Any], n: int) -> dict[str, Any]:
        fields = ("name", "street1", "street2", "city", "state", "postal-code", "country")
        return {"id": 9000 + n, **{f: address[f] for f in fields}, "attention": None}

    suppliers = []
    names: set[str] = set()
    commodity_names = {
        rid: name for rid, (name, _) in zip(ids.commodities, COMMODITIES, strict=True)
    }
    term_codes = {rid: t[0] for rid, t in zip(ids.payment_terms, PAYMENT_TERMS, strict=True)}
    # Nothing else makes suppliers while the seed runs: the next free id is the first's.
    first_supplier = seeder.store.reserve_ids("suppliers", 0)
    for i in range(n_suppliers):
        name = f"{rng.choice(CO_A)} {rng.choice(CO_B)}"
        while name in names:
            name = f"{name} {rng.choice(CO_C)}" if len(name) < 60 else f"{name[:50]} {i}"
        names.add(name)
        status = "active" if rng.random() > 0.08 else rng.choice(["inactive", "draft"])
        po_method = rng.choice(["email", "cxml", "prompt", "mark_as_sent"])
        suppliers.append(
            {
                "name": name,
                "display-name": name,
                "number": f"SUP-{1000 + i}",
                "status": status,
                "po-method": po_method,
                "po-email": f"orders@{name.split()[0].lower()}.example.com",
                "payment-method": "invoice",
                "invoice-matching-level": rng.choice(["2-way", "3-way", "none"]),
                "account-number": f"{rng.randint(1000, 9999)}",
                "tax-id": f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
                "website": f"https://www.{name.split()[0].lower()}.example.com",
                "on-hold": False,
                "savings-pct": f"{rng.choice([0, 2.5, 4.0, 5.0]):.1f}",
                # Embedded, as in Coupa's supplier payloads (not an /api/addresses id).
                "primary-address": primary_address(addresses[i % len(addresses)], i),
                "custom-fields": {
                    "supplier-tier": SUPPLIER_TIERS[i % len(SUPPLIER_TIERS)],
                    "region": REGIONS[i % len(REGIONS)],
                },
                "payment-term": ref(rng.choice(ids.payment_terms)),
                # randrange draws like choice did, so the rest of the seed is unchanged.
                "commodity": ref(ids.commodities[rng.randrange(len(ids.commodities))]),
                "primary-contact": {
                    "id": 5000 + i,
                    # Stamped with the supplier (Seeder.simple); Coupa's samples show them.
                    "created-at": None,
                    "updated-at": None,
                    "created-by": None,
                    "updated-by": None,
                    "active": True,
                    "purposes": [],
                    "email": f"sales@{name.split()[0].lower()}.example.com",
                    "name-additional": None,
                    "name-family": rng.choice(LAST),
                    "name-fullname": None,
                    "name-given": rng.choice(FIRST),
                    "name-prefix": None,
                    "name-suffix": None,
                    "notes": None,
                    "phone-work": {
                        "country-code": "1",
                        "area-code": f"{rng.randint(200, 999)}",
                        "number": f"{rng.randint(1000000, 9999999)}",
                        "extension": None,
                    },
                },
                **supplier_details(i, first_supplier + i, name, po_method, ids.shipping_terms),
            }
        )
        supplier = suppliers[-1]
        contact = supplier["primary-contact"]
        contact["name-fullname"] = f"{contact['name-given']} {contact['name-family']}"
        # Coupa keeps these lists as text: the supplier's own commodity and payment term.
        supplier["preferred-commodities"] = commodity_names[supplier["commodity"]["id"]]
        supplier["payment-terms"] = term_codes[supplier["payment-term"]["id"]]
    ids.suppliers = seeder.simple("suppliers", suppliers)
    ids.supplier_names = {
        rid: str(s["name"]) for rid, s in zip(ids.suppliers, suppliers, strict=True)
    }
    ids.supplier_facts = {
        rid: SupplierFacts(
            name=str(s["name"]),
            domain=str(s["name"]).split()[0].lower(),
            account_number=str(s["account-number"]),
            tax_id=str(s["tax-id"]),
            contact=str(s["primary-contact"]["name-fullname"]),
            address=s["primary-address"],
        )
        for rid, s in zip(ids.suppliers, suppliers, strict=True)
    }

    items: list[dict[str, Any]] = []
    for i in range(n_items):
        product = PRODUCTS[i % len(PRODUCTS)]
        items.append(
            {
                "name": product if i < len(PRODUCTS) else f"{product} model {i}",
                "description": f"{product}, standard specification",
                "item-number": f"ITM-{10000 + i}",
                "uom": ref(ids.uoms[i % 3]),
                "commodity": ref(ids.commodities[i % len(ids.commodities)]),
                "active": True,
                "manufacturer-name": rng.choice(CO_A),
                "manufacturer-part-number": f"MP-{rng.randint(10000, 99999)}",
            }
        )
    # The items Coupa's examples name come first, with the ids the examples give them; the
    # transactions draw from the generated ones only.
    documented = [dict(row) for row in DOCUMENTED_ITEMS]
    item_ids = seeder.simple("items", [*documented, *items])[len(documented) :]
    for rid, row in zip(item_ids, items, strict=True):
        price = round(rng.uniform(5, 900), 2)
        ids.items.append((rid, str(row["name"]), price, row["uom"]["id"], row["commodity"]["id"]))
    seeder.simple(
        "supplier_items",
        [
            {
                "item": ref(rid),
                "supplier": ref(seeder.rng.choice(ids.suppliers)),
                "price": money(price * 0.95),
                "currency": ref(ids.currencies["USD"]),
                "supplier-part-num": f"SP-{rid:05d}",
                "lead-time": rng.choice([2, 5, 10, 15]),
                "preferred": rng.random() > 0.7,
                "availability": "in_stock",
            }
            for rid, _, price, _, _ in ids.items
        ],
    )

    contracts: list[dict[str, Any]] = []
    for i, sid in enumerate(ids.suppliers[: max(5, len(ids.suppliers) // 3)]):
        start = seeder.when(0.0, 0.5)
        contracts.append(
            {
                "name": f"{ids.supplier_names[sid]} MSA {2024 + i % 2}",
                "number": f"CTR-{5000 + i}",
                "supplier": ref(sid),
                "status": rng.choice(["published", "published", "draft", "expired"]),
                "start-date": format_instant(start),
                "end-date": format_instant(start + 3 * 365 * 86400),
                "currency": ref(ids.currencies["USD"]),
                "payment-term": ref(rng.choice(ids.payment_terms)),
                "type": "MasterContract",
                "term-type": rng.choice(["fixed", "auto_renew"]),
                "min-commit": money(rng.choice([0, 10000, 50000])),
                "max-commit": money(rng.choice([100000, 250000, 1000000])),
                "version": 1,
                "used-for-buying": True,
                "custom-fields": {
                    "region": REGIONS[i % len(REGIONS)],
                    "renewal-owner": f"owner{i % 5 + 1}@example.com",
                },
            }
        )
    for cid, row in zip(seeder.simple("contracts", contracts), contracts, strict=True):
        ids.contracts[row["supplier"]["id"]] = cid

    lookups = seeder.simple(
        "lookups",
        [
            {"name": "Cost Center", "description": "Cost centers", "active": True},
            {"name": "Project", "description": "Projects", "active": True},
        ],
    )
    values = [
        {
            "name": f"CC-{s2}",
            "lookup": ref(lookups[0]),
            "external-ref-num": s2,
            "external-ref-code": f"CC-{s2}",
            "description": f"Cost center {s2}",
            "active": True,
            "depth": 1,
            "is-default": i == 0,
        }
        for i, s2 in enumerate(SEGMENTS_2)
    ]
    values += [
        {
            "name": f"PRJ-{n:03d}",
            "lookup": ref(lookups[1]),
            "external-ref-num": str(n),
            "external-ref-code": f"PRJ-{n:03d}",
            "description": f"Project {n}",
            "active": n % 7 != 0,
            "depth": 1,
            "is-default": False,
        }
        for n in range(1, 21)
    ]
    seeder.simple("lookup_values", values)

    rates = []
    for month in range(24):
        day = BASE_TS - SPAN + month * 30 * 86400
        for code, usd in TO_USD.items():
            if code == "USD":
                continue
            drift = 1 + seeder.rng.uniform(-0.03, 0.03)
            rates.append(
                {
                    "from-currency": ref(ids.currencies[code]),
                    "to-currency": ref(ids.currencies["USD"]),
                    "rate": f"{usd * drift:.6f}",
                    "rate-date": format_instant(day),
                }
            )
    seeder.simple("exchange_rates", rates)

    budget = []
    for acct in ids.accounts[:12]:
        for quarter in range(8):
            amount = rng.choice([25000, 50000, 100000, 250000])
            budget.append(
                {
                    "segment-1": accounts[ids.accounts.index(acct)]["segment-1"],
                    "segment-2": accounts[ids.accounts.index(acct)]["segment-2"],
                    "segment-3": accounts[ids.accounts.index(acct)]["segment-3"],
                    "description": f"Q{quarter % 4 + 1} {2024 + quarter // 4} budget",
                    "amount": money(amount),
                    "currency": ref(ids.currencies["USD"]),
                    "period": {"name": f"{2024 + quarter // 4}-Q{quarter % 4 + 1}"},
                    "remaining": money(amount * rng.uniform(0.1, 0.9)),
                }
            )
    seeder.simple("budget_lines", budget)
