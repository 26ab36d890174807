"""Importers for fee items, bills and payments (contracts §4).

Fee items add an estate's items and dated rates. Bills and payments refer to units that
exist. Every row is checked before anything is written; the money
itself goes through the ledger, so imported bills and payments are allocated like any other
(oldest open bill first, what is left over is the unit's credit). Importing the same file
again adds nothing: a bill's source_key and a payment's idempotency key come from the row.
"""

import hashlib
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import audit, clock
from portal.core.imports import RowError, RowProblem, choice, decimal2, text
from portal.core.money import to_fen, yuan
from portal.core.place_imports import KINDS, _PlaceImporter
from portal.core.places import Estate
from portal.extensions import db

from . import ledger, rules
from .models import Basis, Bill, FeeItem, FeeRate, Method

METHODS = {m.value: m for m in Method}
BASES = {b.value: b for b in Basis}
BRACKETED = re.compile(r"\s*[（(][^（()）]*[)）]\s*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CHUNK = 500


def strict_date(row, column):
    """A YYYY-MM-DD date (date.fromisoformat alone would also take 20261231 or 2026-W01)."""
    raw = row.get(column, "").strip()
    if DATE_RE.match(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise RowProblem(
        _l("'%(c)s' must be a date like 2026-12-31, not '%(v)s'.", c=column, v=raw[:40])
    )


class FeeItemsImporter(_PlaceImporter):
    """Fee items and their dated rates (for every occupancy category) of an estate.

    A new code adds the item with its rate; a known code with a new `effective_on` adds a
    dated rate; the same row again changes nothing. A file never changes what an item is
    (its name, basis or unit kind) nor a rate already set for a date.
    """

    columns = ("code", "name", "basis", "unit_kind", "rate", "effective_on")

    def parse(self, row):
        p = {"estate": text(row, "estate", 200, required=False) or self.estate_name}
        p["code"] = text(row, "code", 40)
        p["name"] = text(row, "name", 100)
        p["basis"] = choice(row, "basis", BASES)
        p["unit_kind"] = choice(row, "unit_kind", KINDS) if row.get("unit_kind") else None
        rate = decimal2(row, "rate", positive=False)
        if rate < 0:
            raise RowProblem(_l("'%(c)s' must not be negative.", c="rate"))
        p["rate_fen"] = to_fen(rate)
        p["effective_on"] = strict_date(row, "effective_on")
        return p

    def check_all(self, parsed):
        errors = self.resolve_estates(parsed)
        if errors:
            return errors
        for _, p in parsed:
            p["estate_obj"] = self.estate_of(p)
        items = db.session.scalars(
            select(FeeItem).where(FeeItem.estate_id.in_({p["estate_obj"].id for _, p in parsed}))
        ).all()
        self.items = {(i.estate_id, i.code): i for i in items}
        self.rates = {
            (r.fee_item_id, r.effective_on): r.rate_fen
            for r in db.session.scalars(
                select(FeeRate).where(
                    FeeRate.fee_item_id.in_([i.id for i in items]), FeeRate.occupancy.is_(None)
                )
            )
        }
        errors = self.duplicates(
            parsed, lambda p: (p["estate_obj"].id, p["code"], p["effective_on"])
        )
        repeated = {e.line for e in errors}
        first_of_code = {}
        for line, p in parsed:
            if line in repeated:
                continue
            key = (p["estate_obj"].id, p["code"])
            what = (p["name"], p["basis"], p["unit_kind"])
            item = self.items.get(key)
            if item is not None:
                if (item.name, item.basis, item.unit_kind) != what:
                    errors.append(RowError(line, str(self._not_the_item(item))))
                    continue
                rate = self.rates.get((item.id, p["effective_on"]))
                if rate is not None and rate != p["rate_fen"]:
                    message = _l(
                        "The item '%(code)s' has a rate of %(rate)s from %(d)s already; "
                        "rates are never changed: give a new date.",
                        code=item.code,
                        rate=yuan(rate),
                        d=p["effective_on"].isoformat(),
                    )
                    errors.append(RowError(line, str(message)))
            elif key in first_of_code and first_of_code[key][1] != what:
                message = _l(
                    "The code '%(code)s' is on line %(n)d with another name, basis or unit kind.",
                    code=p["code"],
                    n=first_of_code[key][0],
                )
                errors.append(RowError(line, str(message)))
            else:
                first_of_code.setdefault(key, (line, what))
        return sorted(errors, key=lambda e: e.line)

    @staticmethod
    def _not_the_item(item):
        return _l(
            "The item '%(code)s' exists as '%(name)s', %(basis)s, unit kind '%(kind)s'; "
            "a file does not change an item: give those values or another code.",
            code=item.code,
            name=item.name,
            basis=item.basis,
            kind=item.unit_kind or "",
        )

    def apply(self, parsed, report):
        for _, p in sorted(parsed, key=lambda lp: (lp[1]["effective_on"], lp[0])):
            estate_id = p["estate_obj"].id
            item = self.items.get((estate_id, p["code"]))
            if item is None:
                item = rules.create_item(
                    estate_id,
                    code=p["code"],
                    name=p["name"],
                    basis=p["basis"].value,
                    unit_kind=p["unit_kind"].value if p["unit_kind"] else None,
                    rate_fen=p["rate_fen"],
                    effective_on=p["effective_on"],
                    actor=self.actor,
                )
                audit.record(
                    "fee_item.create",
                    item,
                    actor=self.actor,
                    estate_id=estate_id,
                    after={"code": item.code, "name": item.name, "basis": item.basis},
                )
                self.items[(estate_id, item.code)] = item
                report.created += 1
            elif (item.id, p["effective_on"]) in self.rates:
                report.unchanged += 1
                continue
            else:
                rules.add_rate(
                    item,
                    rate_fen=p["rate_fen"],
                    effective_on=p["effective_on"],
                    occupancy=None,
                    actor=self.actor,
                )
                report.updated += 1
            self.rates[(item.id, p["effective_on"])] = p["rate_fen"]
        db.session.flush()


class _MoneyImporter(_PlaceImporter):
    """Rows that name an existing unit of an estate the actor may work in."""

    def resolve_units(self, parsed) -> tuple[list[RowError], list]:
        """Every row's estate and unit (p["unit_obj"]): the errors, and the rows found.

        An estate that is unknown (or not the actor's) stops the check there; an unknown
        unit is reported for its row and the other rows are checked on.
        """
        errors = self.resolve_estates(parsed)
        if not errors:
            errors = self._check_scope(parsed)
        if errors:
            return errors, []
        estate_ids = {self.estate_of(p).id for _, p in parsed}
        units = self.units_by_place(estate_ids)
        found = []
        for line, p in parsed:
            estate = self.estate_of(p)
            p["estate_obj"] = estate
            p["unit_obj"] = units.get((estate.id, p["zone"], p["building"], p["unit"]))
            if p["unit_obj"] is not None:
                found.append((line, p))
                continue
            errors.append(
                RowError(
                    line,
                    str(
                        _l(
                            "There is no unit %(z)s %(b)s %(u)s in %(e)s.",
                            z=p["zone"],
                            b=p["building"],
                            u=p["unit"],
                            e=estate.name,
                        )
                    ),
                )
            )
        return errors, found

    def _check_scope(self, parsed) -> list[RowError]:
        """Staff import only into the estates they work in (the CLI has no actor)."""
        actor = self.actor
        if actor is None or not getattr(actor, "is_staff", False):
            return []
        from portal.core.access import estate_ids_for

        ids = {e.id for e in (self.estate_of(p) for _, p in parsed) if e is not None}
        allowed = set(
            db.session.scalars(select(Estate.id).where(Estate.id.in_(ids), estate_ids_for(actor)))
        )
        errors = []
        for line, p in parsed:
            estate = self.estate_of(p)
            if estate is not None and estate.id not in allowed:
                errors.append(
                    RowError(line, str(_l("There is no estate called '%(e)s'.", e=estate.name)))
                )
        return errors

    @staticmethod
    def lock_units(unit_ids) -> None:
        """Take the units' locks in id order, so two imports never wait on each other."""
        for unit_id in sorted(unit_ids):
            ledger.lock_unit(unit_id)


class BillsImporter(_MoneyImporter):
    """Bills of existing units for a fee item and period; existing credit pays them."""

    columns = (
        "zone",
        "building",
        "unit",
        "fee_item",
        "period_start",
        "period_end",
        "amount",
        "due_on",
    )
    optional = ("discount",)

    def parse(self, row):
        p = self.place(row)
        p["fee_item"] = text(row, "fee_item", 100)
        p["period_start"] = strict_date(row, "period_start")
        p["period_end"] = strict_date(row, "period_end")
        if p["period_start"] > p["period_end"]:
            raise RowProblem(_l("'period_start' is after 'period_end'."))
        p["amount_fen"] = to_fen(decimal2(row, "amount"))
        p["discount_fen"] = 0
        if row.get("discount", "").strip():
            discount = decimal2(row, "discount", positive=False)
            if discount < 0:
                raise RowProblem(_l("'%(c)s' must not be negative.", c="discount"))
            p["discount_fen"] = to_fen(discount)
        p["due_on"] = strict_date(row, "due_on")
        return p

    def check_all(self, parsed):
        errors, found = self.resolve_units(parsed)
        if not found:
            return errors
        self._load_items({p["estate_obj"].id for _, p in found})
        good = []
        for line, p in found:
            item = self._item(p)
            if item is None:
                errors.append(
                    RowError(
                        line,
                        str(
                            _l(
                                "There is no fee item '%(i)s' in %(e)s.",
                                i=p["fee_item"],
                                e=p["estate_obj"].name,
                            )
                        ),
                    )
                )
                continue
            p["item"] = item
            p["source_key"] = f"import:{item.code}:{p['period_start']}:{p['period_end']}"
            good.append((line, p))
        repeats = self.duplicates(good, lambda p: (p["unit_obj"].id, p["source_key"]))
        errors += repeats
        repeated = {e.line for e in repeats}
        self.existing = self._existing_bills(good)
        for line, p in good:
            bill = self.existing.get((p["unit_obj"].id, p["source_key"]))
            if (
                line not in repeated
                and bill is not None
                and (
                    bill.amount_fen != p["amount_fen"]
                    or bill.discount_fen != p["discount_fen"]
                    or bill.due_on != p["due_on"]
                )
            ):
                errors.append(
                    RowError(
                        line,
                        str(
                            _l(
                                "This unit already has this bill with another amount: "
                                "%(amount)s (discount %(discount)s), due %(due)s.",
                                amount=yuan(bill.amount_fen),
                                discount=yuan(bill.discount_fen),
                                due=bill.due_on.isoformat(),
                            )
                        ),
                    )
                )
        return sorted(errors, key=lambda e: e.line)

    def _load_items(self, estate_ids):
        items = db.session.scalars(select(FeeItem).where(FeeItem.estate_id.in_(estate_ids))).all()
        self.items_by_code = {(i.estate_id, i.code): i for i in items}
        self.items_by_name = {}
        for i in sorted(items, key=lambda i: i.id):
            self.items_by_name.setdefault((i.estate_id, i.name), i)

    def _item(self, p):
        """The item a row names by code or by name; a name without its bracketed part
        (物业管理费 for 物业管理费（住宅）) is the one item of that name for the unit's kind."""
        estate_id, named = p["estate_obj"].id, p["fee_item"]
        found = self.items_by_code.get((estate_id, named)) or self.items_by_name.get(
            (estate_id, named)
        )
        if found is not None:
            return found
        kind = p["unit_obj"].kind
        fits = [
            i
            for (e, name), i in self.items_by_name.items()
            if e == estate_id and BRACKETED.sub("", name) == named and i.unit_kind in (None, kind)
        ]
        return fits[0] if len(fits) == 1 else None

    @staticmethod
    def _existing_bills(parsed):
        """(unit id, source key) → Bill for the bills these rows would make."""
        unit_ids = sorted({p["unit_obj"].id for _, p in parsed})
        keys = sorted({p["source_key"] for _, p in parsed})
        found = {}
        for u in range(0, len(unit_ids), CHUNK):
            for k in range(0, len(keys), CHUNK):
                for bill in db.session.scalars(
                    select(Bill).where(
                        Bill.unit_id.in_(unit_ids[u : u + CHUNK]),
                        Bill.source_key.in_(keys[k : k + CHUNK]),
                    )
                ):
                    found[(bill.unit_id, bill.source_key)] = bill
        return found

    def apply(self, parsed, report):
        new = [
            (line, p)
            for line, p in parsed
            if (p["unit_obj"].id, p["source_key"]) not in self.existing
        ]
        report.unchanged += len(parsed) - len(new)
        self.lock_units({p["unit_obj"].id for _, p in new})
        affected = set()
        for _, p in new:
            unit = p["unit_obj"]
            bill = ledger.issue_bill(
                unit,
                p["item"],
                amount_fen=p["amount_fen"],
                discount_fen=p["discount_fen"],
                discount_rule="import" if p["discount_fen"] > 0 else None,
                due_on=p["due_on"],
                period_start=p["period_start"],
                period_end=p["period_end"],
                occupancy=unit.occupancy,
                source="import",
                source_key=p["source_key"],
                actor=self.actor,
                allocate_now=False,
            )
            if bill is None:  # imported meanwhile by another import of the same file
                report.unchanged += 1
                continue
            report.created += 1
            affected.add(unit.id)
        for unit_id in sorted(affected):
            ledger.allocate(unit_id)
        db.session.flush()


class PaymentsImporter(_MoneyImporter):
    """Payments received for existing units, allocated to their oldest open bills."""

    columns = ("zone", "building", "unit", "paid_on", "amount", "method", "reference")

    def parse(self, row):
        p = self.place(row)
        p["paid_on"] = strict_date(row, "paid_on")
        p["amount_fen"] = to_fen(decimal2(row, "amount"))
        p["method"] = choice(row, "method", METHODS)
        p["reference"] = text(row, "reference", 100, required=False)
        return p

    def check_all(self, parsed):
        errors, found = self.resolve_units(parsed)
        today = {}
        for line, p in parsed:
            estate = p.get("estate_obj")
            if estate is None:  # the estate itself is wrong: said already
                continue
            if estate.id not in today:
                today[estate.id] = clock.local_today(estate.timezone or "Asia/Shanghai")
            if p["paid_on"] > today[estate.id]:
                errors.append(
                    RowError(
                        line,
                        str(_l("'paid_on' %(d)s is in the future.", d=p["paid_on"].isoformat())),
                    )
                )
        seen = {}
        for line, p in found:
            p["key"] = self.idempotency_key(p)
            if p["key"] in seen:
                errors.append(
                    RowError(
                        line,
                        str(
                            _l(
                                "This row repeats line %(n)d; give each payment its own reference.",
                                n=seen[p["key"]],
                            )
                        ),
                    )
                )
            else:
                seen[p["key"]] = line
        return sorted(errors, key=lambda e: e.line)

    @staticmethod
    def idempotency_key(p) -> str:
        """ "import:" + the row's digest: the same payment in any later file is found again."""
        raw = "|".join(
            str(v)
            for v in (
                p["estate_obj"].id,
                p["unit_obj"].id,
                p["paid_on"].isoformat(),
                p["amount_fen"],
                p["method"].value,
                p["reference"],
            )
        )
        return "import:" + hashlib.sha256(raw.encode()).hexdigest()[:40]

    def apply(self, parsed, report):
        self.lock_units({p["unit_obj"].id for _, p in parsed})
        for _, p in sorted(parsed, key=lambda lp: (lp[1]["paid_on"], lp[0])):
            _, created = ledger.record_payment(
                p["unit_obj"],
                p["amount_fen"],
                p["method"].value,
                actor=self.actor,
                source="import",
                paid_on=p["paid_on"],
                reference=p["reference"] or None,
                idempotency_key=p["key"],
            )
            if created:
                report.created += 1
            else:
                report.unchanged += 1
        db.session.flush()
