"""Passes: the world's estate with a tenant in resident2's unit, and pass helpers."""

from datetime import timedelta

import pytest


@pytest.fixture
def tenant(world):
    """A tenant of resident2's unit (unit2), with a login."""
    from portal.core.people import Relation
    from tests.factories import PASSWORD, make_resident

    return make_resident(
        world.unit2,
        relation=Relation.tenant,
        name="赵租客",
        phone="13800000009",
        username="tenant",
        password=PASSWORD,
    )


@pytest.fixture
def guard(world):
    from tests.factories import make_staff

    return make_staff("guard", world.estate, username="guard", name="陈刚")


@pytest.fixture
def other_guard(world):
    from tests.factories import make_staff

    return make_staff("guard", world.other, username="guard_other", name="别的门岗")


def window(hours=8, start=0):
    """A window from `start` hours from now, `hours` long."""
    from portal.core import clock

    begin = clock.now() + timedelta(hours=start)
    return {"valid_from": begin, "valid_until": begin + timedelta(hours=hours)}


@pytest.fixture
def issue(world):
    """issue(kind="goods", unit=None, actor=None, **overrides) → a pass (flushed)."""
    from portal.blueprints.passes.services import issue_pass

    def make(kind="goods", unit=None, actor=None, **kw):
        args = {**window(), **kw}
        if kind == "goods":
            args.setdefault("items", [{"name": "沙发", "quantity": 1}])
        else:
            args.setdefault("people", [{"name": "王五", "phone": "13900000001"}])
        return issue_pass(
            kind=kind, unit=unit or world.unit2, actor=actor or world.frontdesk, **args
        )

    return make
