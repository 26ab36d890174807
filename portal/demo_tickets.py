"""The demo's repairs and complaints: each a scenario walked through its workflow's real
actions on the timeline (portal/demo_timeline.py), so that the estate has tickets in every
state — closed and rated, reopened, awaiting confirmation or a return visit, in progress,
overdue, just reported — with the timelines, due times and notices the engine writes.

A scenario is (days ago, local hour, template, path, who): the template says what and where,
the path which actions follow and how many hours after the one before, `who` names a demo
login whose unit it concerns (None: a household picked at random).
"""

from datetime import timedelta

from sqlalchemy import select

from portal.blueprints.complaints import services as complaints
from portal.blueprints.repairs import services as repairs
from portal.core import clock
from portal.core.people import Residency, User, current_residency_clause
from portal.core.places import Occupancy, Unit
from portal.extensions import db

# (category, location, description, work done, materials, charge in yuan)
REPAIRS = [
    ("plumbing_electrical", "unit", "卫生间地漏返水，下水很慢",
     "疏通下水管，清理地漏杂物，试水正常", None, None),
    ("plumbing_electrical", "unit", "厨房水龙头关不紧，一直滴水",
     "更换水龙头阀芯，试水无渗漏", "阀芯 ×1", "35.00"),
    ("plumbing_electrical", "unit", "客厅插座没电，总闸跳了两次",
     "更换损坏插座，线路绝缘检测正常", "五孔插座 ×1", "20.00"),
    ("civil", "unit", "阳台推拉门滑轮坏了，门推不动",
     "更换推拉门滑轮并调整轨道", "滑轮 ×4", "80.00"),
    ("civil", "unit", "次卧外墙一侧渗水，墙面发霉",
     "外墙裂缝打胶封堵，内墙干燥后修补", "密封胶 ×2", None),
    ("civil", "unit", "入户门锁芯卡住，钥匙拧不动",
     "更换防盗门锁芯", "锁芯 ×1", "120.00"),
    ("smart_systems", "common", "单元门禁刷卡没反应",
     "更换门禁读卡模块，刷卡正常", "读卡模块 ×1", None),
    ("smart_systems", "unit", "可视对讲听不到声音",
     "重新接线并更换对讲分机话筒", "话筒 ×1", "45.00"),
    ("elevator", "common", "电梯运行时有异响，轿厢晃动",
     "维保单位检修导靴并润滑，运行平稳", None, None),
    ("elevator", "common", "电梯12楼外呼按键失灵",
     "更换外呼按键面板", "按键面板 ×1", None),
    ("common_facilities", "common", "地下车库一排照明灯不亮",
     "更换镇流器和灯管", "灯管 ×6", None),
    ("common_facilities", "common", "儿童游乐区滑梯螺丝松动",
     "紧固并更换锈蚀螺丝", "螺丝 ×12", None),
    ("common_facilities", "common", "单元门闭门器漏油，门关不上",
     "更换闭门器", "闭门器 ×1", None),
    ("other", "unit", "空调冷凝水管滴水到楼下阳台",
     "重新固定冷凝水管并接入排水管", None, None),
    ("other", "unit", "燃气热水器打不着火",
     "更换热水器电池后点火正常", "电池 ×2", "10.00"),
]  # fmt: skip

# Steps: (hours after the step before, action, who takes it, data)
ASSIGN = (1.5, "assign", "desk", None)
START = (2.5, "start", "tech", None)
COMPLETE = (2, "complete", "tech", None)
REPAIR_PATHS = {
    "closed": [
        ASSIGN,
        START,
        COMPLETE,
        (18, "confirm", "reporter", {"rating": 5, "comment": "师傅很专业，谢谢"}),
        (26, "return-visit", "desk", {"result": "satisfied", "note": "业主表示已修好，满意"}),
    ],
    "closed_neutral": [
        ASSIGN,
        START,
        COMPLETE,
        (30, "confirm", "reporter", {"rating": 4}),
        (20, "return-visit", "desk", {"result": "neutral", "note": "已修好，希望上门再快一些"}),
    ],
    "closed_reviewed": [
        ASSIGN,
        START,
        COMPLETE,
        (20, "confirm", "reporter", {"rating": 2, "comment": "等了太久"}),
        (22, "return-visit", "desk", {"result": "dissatisfied", "note": "业主对响应速度不满意"}),
        (20, "review", "sup", {"note": "已电话致歉，问题已解决，无需返工；提醒班组按时上门"}),
    ],
    "redone": [
        ASSIGN,
        START,
        COMPLETE,
        (20, "reopen", "reporter", {"reason": "第二天又出现同样的问题"}),
        ASSIGN,
        START,
        COMPLETE,
        (24, "confirm", "reporter", {"rating": 4, "comment": "返工后正常了"}),
        (24, "return-visit", "desk", {"result": "satisfied", "note": "返工后使用正常"}),
    ],
    "reopened": [
        ASSIGN,
        START,
        COMPLETE,
        (20, "reopen", "reporter", {"reason": "问题没有解决，还是一样"}),
    ],
    "completed": [ASSIGN, START, COMPLETE],
    "in_progress": [ASSIGN, START],
    "assigned": [ASSIGN],
    "urged": [ASSIGN, (30, "urge", "reporter", None)],
    "cancelled": [(1, "cancel", "reporter", {"reason": "自己找人修好了"})],
    "submitted": [],
}
# (days ago, local hour, template, path, demo login); the oldest are done, the newest open.
REPAIR_SCENARIOS = [
    (82, 9.2, 0, "closed", None),
    (78, 14.5, 3, "closed", None),
    (74, 10.1, 6, "closed", None),
    (69, 16.3, 1, "closed_neutral", None),
    (64, 8.7, 10, "closed", None),
    (60, 11.4, 4, "redone", None),
    (56, 15.2, 8, "closed", None),
    (52, 9.8, 2, "closed", None),
    (48, 13.6, 12, "closed_reviewed", None),
    (44, 10.5, 13, "closed", None),
    (40, 19.3, 1, "closed", "resident"),
    (37, 9.1, 7, "closed_neutral", None),
    (33, 15.8, 11, "closed", None),
    (30, 10.4, 14, "closed", None),
    (27, 8.9, 5, "closed", None),
    (24, 14.2, 9, "closed", None),
    (21, 11.7, 0, "closed_reviewed", None),
    (19, 16.5, 3, "cancelled", None),
    (17, 9.6, 2, "closed", "resident2"),
    (15, 13.3, 6, "redone", None),
    (13, 10.2, 12, "closed", None),
    (11, 15.1, 4, "closed_neutral", None),
    (9, 9.4, 13, "closed", None),
    (8, 14.8, 10, "completed", None),  # its return visit is overdue
    (7, 10.6, 1, "reopened", None),
    (6, 11.2, 5, "completed", None),
    (5, 16.1, 4, "in_progress", None),  # civil works, 72 hours: overdue
    (4, 9.3, 14, "completed", None),
    (4, 15.5, 0, "urged", None),  # overdue, and the resident has urged it
    (3, 10.8, 2, "assigned", None),  # 24 hours: overdue
    (3, 14.1, 7, "in_progress", "resident2"),
    (2, 9.7, 11, "completed", None),
    (2, 16.4, 3, "assigned", None),
    (2, 11.0, 1, "completed", "resident"),  # waits for the resident's rating
    (1, 10.3, 9, "in_progress", None),
    (1, 15.9, 13, "assigned", None),
    (1, 18.2, 6, "submitted", None),
    (0, 7.5, 8, "submitted", None),  # the elevator, urgent: two hours, overdue by noon
    (0, 8.6, 4, "submitted", None),
    (0, 9.4, 2, "cancelled", None),
]
URGENT = {(0, 7.5)}

# (kind, category, content, department, cause, plan, result or reply)
COMPLAINTS = [
    ("complaint", "neighbours_noise", "楼上装修到晚上十点还在用电钻，已经连续三天了", "工程部",
     "装修队未遵守施工时间规定", "向装修业主发整改通知，秩序维护员晚间巡查",
     "已约谈施工队，晚8点后不再有噪音施工，巡查一周未再发现"),
    ("complaint", "service_attitude", "北门岗保安对来访亲友态度生硬", "秩序维护部",
     "新入职保安对访客登记流程解释不清", "对当班人员进行服务礼仪培训并向业主致歉",
     "已完成培训，主管已上门致歉"),
    ("complaint", "cleaning_greening", "楼旁垃圾桶两天没清运，气味很大", "环境部",
     "清运车辆故障导致延误", "调配备用车辆，每日两次清运并消杀", "已恢复每日清运并完成消杀"),
    ("complaint", "security_traffic", "地下车库我的车位经常被外来车辆占用", "秩序维护部",
     "道闸临时放行管理不严", "加强道闸登记，张贴警示并联系占位车主", "已联系车主挪车并加装车位锁"),
    ("complaint", "fees", "这个月物业费比上月多了，不清楚原因", "客服中心",
     "账单包含上月的有偿维修费用", "向业主解释账单明细并提供维修单据", "已当面说明，业主认可"),
    ("complaint", "maintenance", "电梯报修一周了还没修好", "工程部",
     "等待厂家配件", "协调厂家加急发货，配件到后当天更换", "配件已更换，电梯恢复运行"),
    ("complaint", "cleaning_greening", "绿化带杂草很久没修剪，蚊虫多", "环境部",
     "绿化养护排班不足", "增加绿化工人，本周内完成修剪和灭蚊", "已完成修剪和灭蚊作业"),
    ("complaint", "other", "有住户在草坪遛狗不清理粪便", "秩序维护部",
     "文明养犬宣传不足", "张贴文明养犬提示并加强巡查劝导", "已张贴提示，巡查中劝导多次"),
    ("complaint", "maintenance", "小区东侧路灯晚上不亮，走路不安全", "工程部",
     "路灯线路老化短路", "更换老化线路和损坏灯具", "东侧路灯已全部恢复照明"),
    ("complaint", "neighbours_noise", "邻居家孩子白天练钢琴太吵", None, None, None,
     "白天正常时段练琴不属于违规噪音，我们已提醒邻居注意音量和时间，请您谅解。"),
    ("inquiry", "fees", "请问物业费可以用微信缴纳吗？", None, None, None,
     "可以：在“我的账单”里在线缴费，或到服务中心用微信、支付宝扫码缴纳。"),
    ("inquiry", "other", "装修需要办理什么手续？", None, None, None,
     "请携带房产证、身份证和装修方案到服务中心办理装修申请，审核后发放装修许可证。"),
    ("suggestion", "other", "建议在北门增设快递柜", None, None, None,
     "感谢建议，已提交业委会讨论，计划下季度在北门增设智能快递柜。"),
    ("suggestion", "cleaning_greening", "建议在中心花园增加几张休闲长椅", None, None, None,
     "感谢建议，已列入本年度公共设施改善计划。"),
]  # fmt: skip
ASSESS = (2, "assess", "desk", "valid")
LOOP = [ASSESS, (20, "investigate", "desk", "cause"), (4, "propose", "desk", "plan")]
APPROVED = [*LOOP, (3, "approve", "sup", None)]
RESOLVED = [*APPROVED, (48, "resolve", "desk", "result")]
COMPLAINT_PATHS = {
    "closed": [
        *RESOLVED,
        (6, "respond", "reporter", {"accepted": True, "comment": "处理得很及时"}),
        (20, "return-visit", "desk", {"result": "satisfied", "note": "业主对处理结果满意"}),
        (0.5, "close", "desk", None),
    ],
    "not_valid": [(3, "assess", "desk", "not_valid")],
    "answered": [(4, "answer", "desk", "reply")],
    "accepted": LOOP[:2],
    "proposed": LOOP,
    "in_progress": [*APPROVED, (24, "progress-reply", "desk", "progress")],
    "resolved": RESOLVED,
    "reworked": [
        *RESOLVED,
        (24, "return-visit", "desk", {"result": "dissatisfied", "note": "业主反映问题仍然存在"}),
    ],
    "registered": [],
}
COMPLAINT_SCENARIOS = [
    (80, 10.3, 0, "closed", None),
    (73, 15.2, 1, "closed", None),
    (66, 9.5, 10, "answered", None),
    (59, 14.7, 2, "closed", None),
    (52, 11.1, 9, "not_valid", None),
    (46, 16.3, 3, "closed", None),
    (39, 10.2, 12, "answered", None),
    (33, 9.4, 4, "closed", None),
    (27, 15.6, 5, "reworked", None),  # back with the department after a dissatisfied visit
    (22, 13.2, 11, "answered", "resident2"),
    (16, 10.7, 6, "resolved", None),  # its return visit is overdue
    (12, 9.9, 7, "in_progress", None),
    (9, 14.4, 8, "proposed", None),  # waits for the supervisor's approval
    (6, 10.5, 0, "accepted", None),  # no reply for days: overdue
    (5, 16.2, 13, "answered", None),
    (4, 11.3, 2, "resolved", "resident"),
    (3, 9.2, 3, "registered", None),  # 48 hours passed without a reply: overdue
    (1, 15.3, 4, "registered", None),
    (1, 10.1, 10, "registered", None),
    (0, 9.0, 1, "registered", None),
]


def schedule_tickets(timeline, rng, estate, staff: dict, demo_units: dict) -> None:
    """Put every repair and complaint scenario on the timeline."""
    taken = {unit_id for unit_id, _user in demo_units.values()}
    homes = [home for home in _households(estate.id) if home[0] not in taken]
    for days, hour, template, path, who in REPAIR_SCENARIOS:
        category, location, *_ = REPAIRS[template]
        steps = REPAIR_PATHS[path]
        start = _start(timeline, days, hour, steps)
        if location == "common":
            reporter, unit_id, channel = staff["desk"], None, "patrol"
        else:
            unit_id, reporter = demo_units[who] if who else rng.choice(homes)
            channel = "online" if who or rng.random() < 0.6 else "phone"
        ticket = {"reporter": reporter, "unit_id": unit_id, "channel": channel}
        ticket["urgent"] = (days, hour) in URGENT
        timeline.at(start, _report_repair, ticket, template, staff)
        _follow(timeline, start, steps, _repair_step, ticket, template, staff)
    for days, hour, template, path, who in COMPLAINT_SCENARIOS:
        steps = COMPLAINT_PATHS[path]
        start = _start(timeline, days, hour, steps)
        unit_id, reporter = demo_units[who] if who else rng.choice(homes)
        channel = "online" if who or rng.random() < 0.5 else "phone"
        ticket = {"reporter": reporter, "unit_id": unit_id, "channel": channel}
        timeline.at(start, _register_complaint, ticket, template, staff)
        _follow(timeline, start, steps, _complaint_step, ticket, template, staff)


def _households(estate_id: int) -> list[tuple[int, User]]:
    """(unit id, a current resident) of the occupied homes, in a stable order."""
    occupied = [Occupancy.occupied_renovated.value, Occupancy.occupied_unrenovated.value]
    rows = db.session.execute(
        select(Residency.unit_id, User)
        .join(User, User.id == Residency.user_id)
        .join(Unit, Unit.id == Residency.unit_id)
        .where(
            Unit.estate_id == estate_id,
            Unit.kind == "residence",
            Unit.occupancy.in_(occupied),
            User.username.is_(None),
            current_residency_clause(),
        )
        .order_by(Residency.unit_id, Residency.id)
    ).all()
    return [(unit_id, user) for unit_id, user in rows]


def _start(timeline, days, hour, steps):
    """When a scenario starts: that day and hour, early enough for its steps to be done."""
    length = timedelta(hours=sum(step[0] for step in steps) + 0.5)
    wanted = timeline.local(timeline.today() - timedelta(days=days), hour)
    return min(wanted, timeline.now - length)


def _follow(timeline, start, steps, run, ticket, template, staff):
    moment = start
    for hours, action, by, data in steps:
        moment += timedelta(hours=hours)
        timeline.at(moment, run, ticket, action, by, data, template, staff)


def _actor(by, ticket, staff):
    return ticket["reporter"] if by == "reporter" else staff[by]


def _report_repair(ticket, template, staff) -> bool:
    category, location, description, *_ = REPAIRS[template]
    resident = ticket["reporter"]
    online = ticket["channel"] == "online"
    ticket["record"] = repairs.submit_repair(
        resident if online else staff["desk"],
        category=category,
        location=location,
        description=description,
        unit_id=ticket["unit_id"],
        channel=None if online else ticket["channel"],
        urgent=ticket["urgent"],
        reporter_id=None if online else resident.id,
    )
    return True


def _repair_step(ticket, action, by, data, template, staff) -> bool:
    *_, note, materials, charge = REPAIRS[template]
    if action == "assign":
        data = {"technician_id": staff["tech"].id}
    elif action == "complete":
        data = {"note": note, "materials": materials, "charge": charge}
    repairs.act(ticket["record"], action, actor=_actor(by, ticket, staff), data=data)
    return True


def _register_complaint(ticket, template, staff) -> bool:
    kind, category, content, *_ = COMPLAINTS[template]
    resident = ticket["reporter"]
    online = ticket["channel"] == "online"
    ticket["record"] = complaints.register_complaint(
        resident if online else staff["desk"],
        kind=kind,
        category=category,
        content=content,
        unit_id=ticket["unit_id"],
        channel=None if online else ticket["channel"],
        reporter_id=None if online else resident.id,
    )
    return True


def _complaint_step(ticket, action, by, data, template, staff) -> bool:
    if isinstance(data, str):  # the input comes from the template
        _kind, _category, _content, department, cause, plan, result = COMPLAINTS[template]
        data = {
            "valid": {"valid": True, "department": department},
            "not_valid": {"valid": False, "reply": result},
            "cause": {"cause": cause, "responsible": department},
            "plan": {"plan": plan},
            "result": {"result": result},
            "reply": {"reply": result},
            "progress": {
                "message": "正在处理，我们会在约定的时间前再联系您",
                "next_reply_at": (clock.now() + timedelta(days=3)).isoformat(),
            },
        }[data]
    complaints.act(ticket["record"], action, actor=_actor(by, ticket, staff), data=data)
    return True
