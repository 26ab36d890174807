"""Importers for units and residents (contracts §4)."""

import re
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core import audit, clock
from portal.core.imports import RowError, RowProblem, choice, decimal2, text
from portal.core.people import Relation, Residency, User, current_residency_clause
from portal.core.places import (
    Building,
    Company,
    Estate,
    Occupancy,
    Unit,
    UnitKind,
    UnitOccupancy,
    Zone,
)
from portal.core.units import set_occupancy
from portal.extensions import db

KINDS = {k.value: k for k in UnitKind}
OCCUPANCIES = {o.value: o for o in Occupancy} | {o.term: o for o in Occupancy}
RELATIONS = {r.value: r for r in Relation} | {
    "业主": Relation.owner,
    "租户": Relation.tenant,
    "家属": Relation.family,
    "家庭成员": Relation.family,
}
PHONE_RE = re.compile(r"^\+?[0-9]{5,20}$")
DEFAULT_COMPANY = "物业服务有限公司"


class _PlaceImporter:
    columns: tuple = ()
    optional: tuple = ()
    creates_estates = False

    def __init__(self, *, estate_name=None, actor=None):
        self.estate_name = (estate_name or "").strip() or None
        self.actor = actor

    def place(self, row):
        return {
            "estate": text(row, "estate", 200, required=False) or self.estate_name,
            "zone": text(row, "zone", 100),
            "building": text(row, "building", 100),
            "unit": text(row, "unit", 50),
        }

    def resolve_estates(self, parsed) -> list[RowError]:
        """Map every row's estate name (or none) to an existing estate, or say why not."""
        names = {p["estate"] for _, p in parsed if p["estate"]}
        found = {
            e.name: e for e in db.session.scalars(select(Estate).where(Estate.name.in_(names)))
        }
        self.estates = found
        errors = []
        if any(p["estate"] is None for _, p in parsed):
            only = db.session.scalars(select(Estate).limit(2)).all()
            if len(only) == 1:
                self.default_estate = only[0]
            else:
                self.default_estate = None
                first = next(line for line, p in parsed if p["estate"] is None)
                message = _l(
                    "Say which estate these rows belong to: add an 'estate' column "
                    "(or use --estate on the command line)."
                )
                errors.append(RowError(first, str(message)))
        if not self.creates_estates:
            for line, p in parsed:
                if p["estate"] and p["estate"] not in found:
                    errors.append(
                        RowError(line, str(_l("There is no estate called '%(e)s'.", e=p["estate"])))
                    )
        return errors

    def estate_of(self, p):
        return self.estates.get(p["estate"]) if p["estate"] else self.default_estate

    @staticmethod
    def duplicates(parsed, key) -> list[RowError]:
        seen, errors = {}, []
        for line, p in parsed:
            k = key(p)
            if k in seen:
                errors.append(RowError(line, str(_l("This row repeats line %(n)d.", n=seen[k]))))
            else:
                seen[k] = line
        return errors

    @staticmethod
    def units_by_place(estate_ids):
        """(estate id, zone, building, number) → Unit for whole estates, in one query."""
        rows = db.session.execute(
            select(Unit, Zone.name, Building.name)
            .join(Building, Building.id == Unit.building_id)
            .join(Zone, Zone.id == Building.zone_id)
            .where(Unit.estate_id.in_(estate_ids))
        ).all()
        return {(u.estate_id, z, b, u.number): u for u, z, b in rows}


class UnitsImporter(_PlaceImporter):
    """Units with kind, floor area and occupancy; creates estates, zones and buildings."""

    columns = ("zone", "building", "unit", "kind", "area_m2", "occupancy")
    creates_estates = True

    def parse(self, row):
        p = self.place(row)
        p["kind"] = choice(row, "kind", KINDS)
        p["area_m2"] = decimal2(row, "area_m2", maximum=100000)
        p["occupancy"] = choice(row, "occupancy", OCCUPANCIES)
        return p

    def check_all(self, parsed):
        errors = self.duplicates(
            parsed, lambda p: (p["estate"], p["zone"], p["building"], p["unit"])
        )
        return errors + self.resolve_estates(parsed)

    def apply(self, parsed, report):
        today = clock.local_today()
        for _, p in parsed:
            if p["estate"] and p["estate"] not in self.estates:
                self.estates[p["estate"]] = self._create_estate(p["estate"])
        estates = {id(e): e for e in (self.estate_of(p) for _, p in parsed)}.values()
        existing = self.units_by_place([e.id for e in estates])
        zones, buildings = self._places([e.id for e in estates])
        for _, p in parsed:
            estate = self.estate_of(p)
            unit = existing.get((estate.id, p["zone"], p["building"], p["unit"]))
            if unit is None:
                building = self._building(estate, p["zone"], p["building"], zones, buildings)
                unit = Unit(
                    estate_id=estate.id,
                    building_id=building.id,
                    number=p["unit"],
                    kind=p["kind"],
                    area_m2=p["area_m2"],
                    occupancy=p["occupancy"],
                    occupancy_since=today,
                )
                db.session.add(unit)
                db.session.add(
                    UnitOccupancy(unit=unit, occupancy=p["occupancy"], effective_on=today)
                )
                existing[(estate.id, p["zone"], p["building"], p["unit"])] = unit
                report.created += 1
                continue
            changed = unit.kind != p["kind"] or unit.area_m2 != p["area_m2"]
            if changed:
                audit.record(
                    "unit.update",
                    unit,
                    actor=self.actor,
                    before={"kind": unit.kind, "area_m2": unit.area_m2},
                    after={"kind": p["kind"].value, "area_m2": p["area_m2"]},
                )
                unit.kind, unit.area_m2 = p["kind"], p["area_m2"]
            changed |= set_occupancy(unit, p["occupancy"], today, actor=self.actor)
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1
        db.session.flush()

    def _create_estate(self, name):
        company = db.session.scalar(select(Company).order_by(Company.id).limit(1))
        if company is None:
            company = Company(name=DEFAULT_COMPANY)
            db.session.add(company)
            db.session.flush()
        estate = Estate(name=name, company_id=company.id)
        db.session.add(estate)
        db.session.flush()
        audit.record(
            "estate.create", estate, actor=self.actor, estate_id=estate.id, after={"name": name}
        )
        return estate

    @staticmethod
    def _places(estate_ids):
        zones = {
            (z.estate_id, z.name): z
            for z in db.session.scalars(select(Zone).where(Zone.estate_id.in_(estate_ids)))
        }
        buildings = {
            (b.zone_id, b.name): b
            for b in db.session.scalars(
                select(Building).join(Zone).where(Zone.estate_id.in_(estate_ids))
            )
        }
        return zones, buildings

    @staticmethod
    def _building(estate, zone_name, building_name, zones, buildings):
        zone = zones.get((estate.id, zone_name))
        if zone is None:
            zone = zones[(estate.id, zone_name)] = Zone(estate_id=estate.id, name=zone_name)
            db.session.add(zone)
            db.session.flush()
        building = buildings.get((zone.id, building_name))
        if building is None:
            building = Building(zone_id=zone.id, name=building_name)
            buildings[(zone.id, building_name)] = building
            db.session.add(building)
            db.session.flush()
        return building


class ResidentsImporter(_PlaceImporter):
    """Owners, tenants and family members of existing units."""

    columns = ("zone", "building", "unit", "name", "phone", "relation")

    def parse(self, row):
        p = self.place(row)
        p["name"] = text(row, "name", 100)
        phone = re.sub(r"[\s-]", "", text(row, "phone", 32))
        if not PHONE_RE.match(phone):
            raise RowProblem(_l("'phone' must be a phone number, not '%(v)s'.", v=phone[:40]))
        p["phone"] = phone
        p["relation"] = choice(row, "relation", RELATIONS)
        return p

    def check_all(self, parsed):
        errors = self.duplicates(
            parsed,
            lambda p: (p["estate"], p["zone"], p["building"], p["unit"], p["name"], p["phone"]),
        )
        errors += self.resolve_estates(parsed)
        if errors:
            return errors
        estate_ids = {self.estate_of(p).id for _, p in parsed}
        self.units = self.units_by_place(estate_ids)
        for line, p in parsed:
            if self._unit(p) is None:
                errors.append(
                    RowError(
                        line,
                        str(
                            _l(
                                "There is no unit %(z)s %(b)s %(u)s; import the units first.",
                                z=p["zone"],
                                b=p["building"],
                                u=p["unit"],
                            )
                        ),
                    )
                )
        return errors

    def _unit(self, p):
        return self.units.get((self.estate_of(p).id, p["zone"], p["building"], p["unit"]))

    def apply(self, parsed, report):
        today = clock.local_today()
        phones = sorted({p["phone"] for _, p in parsed})
        people = {}
        for start in range(0, len(phones), 500):
            for user in db.session.scalars(
                select(User).where(User.phone.in_(phones[start : start + 500]))
            ):
                people.setdefault((user.name, user.phone), user)
        unit_ids = sorted({self._unit(p).id for _, p in parsed})
        current = {}
        for start in range(0, len(unit_ids), 500):
            for r in db.session.scalars(
                select(Residency).where(
                    Residency.unit_id.in_(unit_ids[start : start + 500]),
                    current_residency_clause(today),
                )
            ):
                current[(r.unit_id, r.user_id)] = r
        for _, p in parsed:
            unit = self._unit(p)
            person = people.get((p["name"], p["phone"]))
            if person is None:
                person = User(name=p["name"], phone=p["phone"])
                db.session.add(person)
                people[(p["name"], p["phone"])] = person
            residency = current.get((unit.id, person.id)) if person.id else None
            if residency is not None and residency.relation == p["relation"]:
                report.unchanged += 1
                continue
            if residency is not None and residency.start_on == today:
                residency.relation = p["relation"]  # corrected on the day it was entered
                report.updated += 1
                continue
            if residency is not None:  # the relation changed: close the old, keep history
                residency.end_on = today - timedelta(days=1)
                report.updated += 1
            else:
                report.created += 1
            db.session.add(
                Residency(unit_id=unit.id, user=person, relation=p["relation"], start_on=today)
            )
        db.session.flush()
