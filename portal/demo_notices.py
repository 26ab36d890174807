"""The demo's notices, sent by the front desk on the timeline through the notices service,
and who has read them: most people read a message within a day or two, staff read theirs,
and households confirm the notices that ask for it.
"""

from datetime import timedelta

from sqlalchemy import select, update

from portal.blueprints.notices.services import compose_notice
from portal.core.people import StaffRole, User
from portal.core.places import Building, Zone
from portal.extensions import db
from portal.notify.models import InboxMessage

# (days ago, local hour, title, body, audience, channels, requires a confirmation)
NOTICES = [
    (75, 10, "服务中心节假日值班安排",
     "节假日期间服务中心正常值班，时间为9:00–18:00；夜间报修请拨打24小时值班电话。",
     {}, ["app"], False),
    (54, 15, "A区计划停水通知",
     "因市政管网维修，A区将于明日9:00至15:00停水，请提前储水，给您带来不便敬请谅解。",
     {"zone": "A区"}, ["app", "sms"], False),
    (36, 11, "B区消防演练通知",
     "本周六上午10:00在B区中心广场举行消防演练，届时警报鸣响属演练，请勿惊慌。请确认已知悉。",
     {"zone": "B区"}, ["app"], True),
    (20, 9.5, "电梯年度检验通知",
     "A区1栋电梯将于本周四进行年度检验，检验期间暂停使用约两小时，请合理安排出行。",
     {"building": ("A区", "1栋")}, ["app"], False),
    (9, 16, "物业费缴纳提醒",
     "本季度物业费已出账，可在“我的账单”中在线缴纳，或到服务中心缴纳。如已缴纳请忽略。",
     {}, ["app"], False),
    (2, 10, "小区绿化消杀通知",
     "本周三、周四将对小区绿化带进行消杀作业，请看管好儿童和宠物，勿接触绿化带。",
     {}, ["app"], False),
]  # fmt: skip
READ_SHARE = {"resident": 0.65, "staff": 0.95}  # who reads a message sooner or later
CONFIRM_SHARE = 0.7  # of the residents who read a notice that asks for a confirmation


def schedule_notices(timeline, estate, desk) -> None:
    """Put the notices on the timeline, sent by the front desk."""
    for days, hour, title, body, audience, channels, ack in NOTICES:
        moment = timeline.local(timeline.today() - timedelta(days=days), hour)
        moment = min(moment, timeline.now - timedelta(minutes=5))
        timeline.at(moment, _send, estate, desk, title, body, audience, channels, ack)


def _send(estate, desk, title, body, audience, channels, ack) -> bool:
    zones, buildings = [], []
    if "zone" in audience:
        zones = db.session.scalars(
            select(Zone.id).where(Zone.estate_id == estate.id, Zone.name == audience["zone"])
        ).all()
    if "building" in audience:
        zone, building = audience["building"]
        buildings = db.session.scalars(
            select(Building.id)
            .join(Zone)
            .where(Zone.estate_id == estate.id, Zone.name == zone, Building.name == building)
        ).all()
    compose_notice(
        desk,
        estate=estate,
        title=title,
        body=body,
        channels=channels,
        zone_ids=zones,
        building_ids=buildings,
        requires_ack=ack,
    )
    return True


def read_inbox(rng, now, *, keep_unread: set[int]) -> int:
    """Mark the messages people have read by `now` (and the notices they confirmed); the
    people in `keep_unread` (the demo logins) have read only what is a week old."""
    staff = set(db.session.scalars(select(StaffRole.user_id)))
    rows = db.session.execute(
        select(InboxMessage.id, InboxMessage.user_id, InboxMessage.created_at)
        .where(InboxMessage.read_at.is_(None))
        .order_by(InboxMessage.id)
    ).all()
    ack = set(
        db.session.scalars(select(InboxMessage.id).where(InboxMessage.requires_ack.is_(True)))
    )
    changes = []
    for message_id, user_id, created_at in rows:
        share = READ_SHARE["staff" if user_id in staff else "resident"]
        read_at = created_at + timedelta(hours=rng.expovariate(1 / 18))
        if user_id in keep_unread and created_at > now - timedelta(days=7):
            continue
        if rng.random() >= share or read_at > now:
            continue
        confirmed = message_id in ack and rng.random() < CONFIRM_SHARE
        acknowledged_at = read_at if confirmed else None
        changes.append({"id": message_id, "read_at": read_at, "acknowledged_at": acknowledged_at})
    if changes:
        db.session.execute(update(InboxMessage), changes)
    return len(changes)


def demo_login_ids() -> set[int]:
    """The users with a demo login (their own messages stay unread for the last week)."""
    return set(db.session.scalars(select(User.id).where(User.username.is_not(None))))
