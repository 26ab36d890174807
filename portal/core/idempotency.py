"""One-time keys on new tickets: a repeated create (a double tap on a slow network, an API
call retried) answers with the first record instead of making another.

The rule is the payments' (fees/ledger/entries.py): the same key with the same values is the
first record; the same key with other values is a conflict (409). A key is stored under the
user who sent it, so two users' keys never meet, and it is unique per estate.
"""

import hashlib
import json
import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.core.errors import Conflict
from portal.extensions import db

KEY_MAX = 80  # what a client may send; the stored key adds the user's id


def new_key() -> str:
    """A key for a new form: the page that shows the form makes it once."""
    return uuid.uuid4().hex


def scoped(actor, key: str | None) -> str | None:
    """The stored key: the client's key under the user who sent it."""
    return f"{actor.id}:{key}" if key else None


def digest(**values) -> str:
    """A fingerprint of the values a record was made from."""
    text = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def earlier(model, estate_id: int, key: str, request_hash: str):
    """The estate's record made with this key (marked `replayed`), or None; the same key
    with other values is a conflict."""
    found = db.session.scalar(
        select(model).where(model.estate_id == estate_id, model.idempotency_key == key)
    )
    if found is None:
        return None
    if found.request_hash != request_hash:
        raise Conflict(
            _l("This idempotency key was already used with other values."),
            fields={"idempotency_key": "reused"},
        )
    found.replayed = True
    return found


def create_once(model, record, key: str | None, request_hash: str, make):
    """make() the new record under its key; the record of an earlier request with the key
    when there is one (also when it wins a race with this one)."""
    if key is None:
        return make()
    found = earlier(model, record.estate_id, key, request_hash)
    if found is not None:
        return found
    record.idempotency_key, record.request_hash = key, request_hash
    try:
        with db.session.begin_nested():
            return make()
    except IntegrityError:
        found = earlier(model, record.estate_id, key, request_hash)
        if found is None:
            raise
        return found


def find(model, actor, key: str | None):
    """The record the actor made with this form key, or None (a form's key is random, so
    it names one record whatever the estate)."""
    if not key:
        return None
    return db.session.scalar(
        select(model).where(model.idempotency_key == scoped(actor, key)).limit(1)
    )
