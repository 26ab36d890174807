"""The API's input and output models (pydantic); the OpenAPI document is built from them."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from portal.blueprints.complaints.models import Category as ComplaintCategory
from portal.blueprints.complaints.models import Kind as ComplaintKind
from portal.blueprints.repairs.models import Category as RepairCategory
from portal.blueprints.repairs.models import Location
from portal.core.inputs import Id
from portal.core.intake import Source
from portal.notify.models import Channel

T = TypeVar("T")

# Money in: yuan with at most two decimals, below a billion.
MONEY_PATTERN = r"^\d{1,9}(\.\d{1,2})?$"
Money = Annotated[
    str, Field(pattern=MONEY_PATTERN, description='Yuan with at most two decimals, e.g. "1234.50"')
]


def one_of(enum: type[StrEnum]) -> Any:
    """A string that is one of `enum`'s values, declared as an `enum` in the document."""
    return Literal[tuple(member.value for member in enum)]


class PageQuery(BaseModel):
    """Paging for every list."""

    model_config = ConfigDict(extra="forbid")
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)


class Page(BaseModel, Generic[T]):
    """A page of a list."""

    items: list[T]
    page: int
    per_page: int
    total: int


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, description="Username or phone number")
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(
        default=None,
        max_length=32,
        description="With two-step sign-in on: the code from the authenticator app,"
        " or a recovery code",
    )


class UserRef(BaseModel):
    id: int
    name: str
    role: str


class TokenOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserRef


class NamedRef(BaseModel):
    id: int
    name: str


class UnitOut(BaseModel):
    id: int
    estate_id: int
    zone: NamedRef
    building: NamedRef
    number: str
    label: str
    kind: str
    area_m2: str = Field(description="Floor area in m², two decimals")
    occupancy: str
    occupancy_label: str
    occupancy_since: date


class ResidentOut(BaseModel):
    id: int
    name: str
    phone: str | None = None
    relation: str
    start_on: date
    end_on: date | None = None


class UnitDetailOut(UnitOut):
    residents: list[ResidentOut]


class UnitQuery(PageQuery):
    zone: Id | None = Field(None, description="Zone id")
    building: Id | None = Field(None, description="Building id")
    q: str | None = Field(
        None, max_length=100, description="Matches room number, resident name or phone"
    )


class MeOut(BaseModel):
    user: UserRef
    role: str
    username: str | None
    phone: str | None
    estate: NamedRef | None
    units: list[UnitOut]


class StaffQuery(PageQuery):
    role: str | None = Field(None, description="frontdesk, technician, supervisor …")


class StaffOut(BaseModel):
    id: int
    name: str
    role: str
    phone: str | None
    estate_id: int | None


class UnitPage(Page[UnitOut]):
    """A page of units."""


class StaffPage(Page[StaffOut]):
    """A page of staff."""


class Revoked(BaseModel):
    revoked: bool


class InboxItemOut(BaseModel):
    id: int
    title: str
    body: str
    kind: str
    urgent: bool
    requires_ack: bool
    created_at: datetime
    read_at: datetime | None
    acknowledged_at: datetime | None


class InboxPage(Page[InboxItemOut]):
    """A page of my inbox."""


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=100)
    body: str = Field(max_length=5000)
    zone_ids: list[Id] = []
    building_ids: list[Id] = []
    unit_ids: list[Id] = []
    channels: list[one_of(Channel)] = Field(min_length=1, description="app, sms, email, print")
    urgent: bool = False
    requires_ack: bool = False
    send_at: datetime | None = Field(None, description="ISO 8601 with offset; default now")
    estate_id: Id | None = Field(None, description="Company-wide callers name the estate")


class NoticeOut(BaseModel):
    id: int
    estate_id: int
    title: str
    body: str
    channels: list[str]
    urgent: bool
    requires_ack: bool
    send_at: datetime
    households: int
    created_at: datetime


class ReceiptOut(BaseModel):
    unit_id: int
    unit: str
    delivered: bool
    failed: bool
    read: bool
    acknowledged: bool
    delivered_at: datetime | None
    read_at: datetime | None
    acknowledged_at: datetime | None


class ReceiptsOut(BaseModel):
    notice_id: int
    households: int
    delivered: int
    read: int
    acknowledged: int
    items: list[ReceiptOut]


class JobOut(BaseModel):
    id: int
    kind: str
    status: str
    progress: int
    error: str | None = None
    result_url: str | None = None


ONCE = (
    "Optional one-time key: the same key with the same body answers as the first time "
    "(201, the same record); the same key with other values answers 409"
)


class RepairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: one_of(RepairCategory)
    location: one_of(Location)
    description: str = Field(max_length=2000)
    unit_id: Id | None = None
    channel: one_of(Source) | None = Field(None, description="online (residents); staff: others")
    urgent: bool = False
    preferred_time: str | None = Field(None, max_length=100)
    reporter_id: Id | None = Field(None, description="Staff registering for a resident")
    idempotency_key: str | None = Field(None, min_length=1, max_length=80, description=ONCE)


class RepairQuery(PageQuery):
    status: str | None = Field(None, max_length=30)
    category: one_of(RepairCategory) | None = None
    unit_id: Id | None = None


class EventOut(BaseModel):
    action: str
    from_: str | None = Field(alias="from", serialization_alias="from")
    to: str
    actor: UserRef | None
    at: datetime
    data: dict


class RepairOut(BaseModel):
    id: int
    number: str
    status: str
    created_at: datetime
    updated_at: datetime
    unit_id: int | None
    category: str
    location: str
    channel: str
    description: str
    urgent: bool
    preferred_time: str | None
    due_at: datetime | None
    overdue: bool
    reporter_id: int
    owner_id: int | None
    assignee: UserRef | None
    completion_note: str | None
    charge: str | None
    rating: int | None
    allowed_actions: list[str]


class RepairDetailOut(RepairOut):
    events: list[EventOut]


class RepairPage(Page[RepairOut]):
    """A page of repairs."""


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: one_of(ComplaintCategory)
    content: str = Field(max_length=20000)
    kind: one_of(ComplaintKind) = "complaint"
    unit_id: Id | None = None
    channel: one_of(Source) | None = None
    reporter_id: Id | None = None
    repair_id: Id | None = None
    idempotency_key: str | None = Field(None, min_length=1, max_length=80, description=ONCE)


class ComplaintQuery(PageQuery):
    status: str | None = Field(None, max_length=30)
    category: one_of(ComplaintCategory) | None = None
    unit_id: Id | None = None
    kind: one_of(ComplaintKind) | None = None


class ComplaintOut(BaseModel):
    id: int
    number: str
    kind: str
    status: str
    created_at: datetime
    updated_at: datetime
    unit_id: int | None
    category: str
    channel: str
    content: str
    reporter_id: int
    owner_id: int | None
    reply_due_at: datetime | None
    first_reply_at: datetime | None
    valid: bool | None
    department: str | None
    plan: str | None
    result: str | None
    reply: str | None
    resident_accepted: bool | None
    visit_result: str | None
    allowed_actions: list[str]


class ComplaintDetailOut(ComplaintOut):
    events: list[EventOut]


class ComplaintPage(Page[ComplaintOut]):
    """A page of complaints."""


# People and occupancy of a unit (contracts §7). The values are those of people.Relation and
# places.Occupancy (tests/api/test_residents_api.py checks they stay the same).
RelationCode = Literal["owner", "tenant", "family"]
OccupancyCode = Literal[
    "occupied_renovated",
    "occupied_unrenovated",
    "renovating",
    "renovated_vacant",
    "vacant",
    "unsold_leased",
    "leased_back",
    "not_handed_over",
]
Phone = Annotated[
    str, Field(min_length=1, max_length=32, description="Digits, optional +; spaces ignored")
]


class ResidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    phone: Phone
    relation: RelationCode
    from_: date | None = Field(None, alias="from", description="First day; default today")


class ResidencyOut(BaseModel):
    residency_id: int
    unit_id: int
    person_id: int
    name: str
    phone: str | None
    relation: str
    start_on: date
    end_on: date | None


class ResidencyPage(Page[ResidencyOut]):
    """A page of a unit's residencies, current and past."""


class ResidencyEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date = Field(description="The residency's last day")


class OccupancyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    occupancy: OccupancyCode
    from_: date = Field(alias="from", description="First day in the category; today at latest")


class OccupancyOut(BaseModel):
    occupancy: str
    occupancy_label: str
    from_: date = Field(serialization_alias="from")
    recorded_at: datetime


class OccupancyPage(Page[OccupancyOut]):
    """A unit's occupancy history, newest first."""


class PersonPhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: Phone


class PersonOut(BaseModel):
    id: int
    name: str
    phone: str | None


# Resident accounts (contracts §7) ------------------------------------------------------------

PHONE_PATTERN = r"^\+?[0-9][0-9\s-]{3,30}$"


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(pattern=PHONE_PATTERN, description="The mobile number on record")
    purpose: Literal["activate", "reset"]


class CodeSent(BaseModel):
    sent: bool = Field(description="Always true: whether the phone is known is never said")


class CodeRedeem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(pattern=PHONE_PATTERN)
    code: str = Field(min_length=1, max_length=12, description="The six digits from the SMS")
    password: str = Field(min_length=1, max_length=256, description="The new password")
