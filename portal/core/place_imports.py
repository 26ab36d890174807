"""Importers for units and residents (contracts §4)."""

import re
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, true

from portal.core import audit, clock
from portal.core.access import estate_ids_for
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

    def __init__(self, *, estate_name=None, company_name=None, actor=None):
        self.estate_name = (estate_name or "").strip() or None
        self.company_name = (company_name or "").strip() or None
        self.actor = actor

    @property
    def by_staff(self) -> bool:
        """Rows sent by a member of staff (the import page), not the command line."""
        return self.actor is not None and self.actor.is_staff

    def scope(self):
        """The estates the rows may name: those the member of staff sees, those of the
        company named on the command line, or (the command line without --company) any."""
        if self.by_staff:
            return estate_ids_for(self.actor)
        if self.company_name:
            named = select(Company.id).where(Company.name == self.company_name)
            return Estate.company_id.in_(named.scalar_subquery())
        return None

    def place(self, row):
        return {
            "estate": text(row, "estate", 200, required=False) or self.estate_name,
            "zone": text(row, "zone", 100),
            "building": text(row, "building", 100),
            "unit": text(row, "unit", 50),
        }

    def resolve_estates(self, parsed) -> list[RowError]:
        """Map every row's estate name (or none) to an estate in scope, or say why not."""
        names = {p["estate"] for _, p in parsed if p["estate"]}
        scope = self.scope()
        in_scope = select(Estate).where(Estate.name.in_(names))
        if scope is not None:
            in_scope = in_scope.where(scope)
        self.estates = {e.name: e for e in db.session.scalars(in_scope)}
        errors = []
        if any(p["estate"] is None for _, p in parsed):
            only = db.session.scalars(
                select(Estate).where(scope if scope is not None else true()).limit(2)
            ).all()
            self.default_estate = only[0] if len(only) == 1 else None
            if self.default_estate is None:
                first = next(line for line, p in parsed if p["estate"] is None)
                message = _l(
                    "Say which estate these rows belong to: add an 'estate' column "
                    "(or use --estate on the command line)."
                )
                errors.append(RowError(first, str(message)))
        return errors + self._unknown_estates(parsed, names - set(self.estates))

    def _unknown_estates(self, parsed, missing) -> list[RowError]:
        """Rows naming an estate outside the scope: one the importer may create (units, for
        the command line or company-wide staff), or an error for the row."""
        elsewhere = set(db.session.scalars(select(Estate.name).where(Estate.name.in_(missing))))
        may_create = self.creates_estates and (not self.by_staff or self.actor.is_company_wide)
        errors = []
        for line, p in parsed:
            name = p["estate"]
            if name not in missing:
                continue
            if name in elsewhere and not self.by_staff:
                message = _l("The estate '%(e)s' belongs to another company.", e=name)
            elif name in elsewhere or not may_create:
                message = _l("There is no estate called '%(e)s'.", e=name)
            else:
                continue
            errors.append(RowError(line, str(message)))
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
    new_company = None  # the company new estates join, found or made once per import

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
        errors += self.resolve_estates(parsed)
        new = [line for line, p in parsed if p["estate"] and p["estate"] not in self.estates]
        if new and not errors and self._company_of_new_estates() is None:
            message = _l(
                "Say which company the new estate belongs to: there are several "
                "(use --company on the command line)."
            )
            errors.append(RowError(new[0], str(message)))
        return errors

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

    def _company_of_new_estates(self) -> Company | None:
        """The company a new estate joins: the company-wide member of staff's, the one named
        on the command line (created when new), or the only one there is (or a first one);
        None when there are several and none is named."""
        if self.by_staff:
            return db.session.get(Company, self.actor.staff_role.company_id)
        if self.company_name:
            named = db.session.scalar(select(Company).where(Company.name == self.company_name))
            return named or Company(name=self.company_name)
        companies = db.session.scalars(select(Company).order_by(Company.id).limit(2)).all()
        if len(companies) > 1:
            return None
        return companies[0] if companies else Company(name=DEFAULT_COMPANY)

    def _create_estate(self, name):
        if self.new_company is None:
            self.new_company = self._company_of_new_estates()
        company = self.new_company
        if company.id is None:
            db.session.add(company)
            db.session.flush()
            audit.record("company.create", company, actor=self.actor, after={"name": company.name})
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
        # One person per phone per estate (the one login that sees all their units): a row
        # whose phone someone in the estate holds is theirs, whatever name the row gives
        # (an account first); else the same name and phone elsewhere; else a new person.
        people, in_estate = {}, {}
        for start in range(0, len(phones), 500):
            chunk = phones[start : start + 500]
            for user in db.session.scalars(
                select(User).where(User.phone.in_(chunk), User.is_active).order_by(User.id)
            ):
                people.setdefault((user.name, user.phone), user)
            for user, estate_id in db.session.execute(
                select(User, Unit.estate_id)
                .join(Residency, Residency.user_id == User.id)
                .join(Unit, Unit.id == Residency.unit_id)
                .where(User.phone.in_(chunk), User.is_active)
                .order_by(User.password_hash.is_(None), User.id)
            ):
                in_estate.setdefault((estate_id, user.phone), user)
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
        added = set()
        for _, p in parsed:
            unit = self._unit(p)
            person = in_estate.get((unit.estate_id, p["phone"])) or people.get(
                (p["name"], p["phone"])
            )
            if person is None:
                person = User(name=p["name"], phone=p["phone"])
                db.session.add(person)
                people[(p["name"], p["phone"])] = person
            in_estate[(unit.estate_id, p["phone"])] = person
            if (unit.id, id(person)) in added:  # the phone's person twice in one unit
                report.unchanged += 1
                continue
            added.add((unit.id, id(person)))
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
