"""Activation letters: a page per resident without a password, a new code each, audited; a
household's at once, a building's as a job; only the counter staff of the estate."""

import re
import shutil
import subprocess
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.core.audit import AuditEntry
from portal.core.people import Relation, Residency
from portal.extensions import db
from portal.jobs import Job, JobStatus
from tests.factories import make_resident, make_unit

CODE = re.compile(r"(?:激活码|Activation code)\s*(\d{6,8})")


def poppler(tool, path, *args):
    if not shutil.which(tool):
        from tests.conftest import skip_or_fail

        skip_or_fail(f"{tool} is not installed (apt-get install poppler-utils)")
    return subprocess.run([tool, *args, str(path)], capture_output=True, text=True).stdout


def pdf_facts(pdf: bytes, tmp_path):
    """(pages, text, fonts) of a PDF, read by poppler."""
    path = tmp_path / "letters.pdf"
    path.write_bytes(pdf)
    info = poppler("pdfinfo", path)
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    return pages, text.stdout, poppler("pdffonts", path)


@pytest.fixture
def household(world):
    """world.unit: 陈业主 (activated), 陈家属 (no password), and two more without one, one of
    whom also owns a parking space; one with no phone; one who moved out."""
    tenant = make_resident(world.unit, relation=Relation.tenant, name="王租客", phone="13912341234")
    space = make_unit(world.estate, zone="A区", building="1栋", number="车位08", kind="parking")
    db.session.add(
        Residency(unit_id=space.id, user_id=tenant.id, relation="owner", start_on=date(2024, 1, 1))
    )
    no_phone = make_resident(world.unit, relation=Relation.family, name="陈小弟")
    no_phone.phone = None
    make_resident(world.unit, name="旧业主", start_on=date(2020, 1, 1), end_on=date(2023, 12, 31))
    db.session.commit()
    return {"tenant": tenant, "space": space, "no_phone": no_phone}


def test_household_letters_one_page_per_resident_without_a_password(
    client, world, login_as, household, tmp_path
):
    login_as("frontdesk")
    page = client.get(f"/units/{world.unit.id}/letters").get_data(as_text=True)
    assert page.count('data-letter="print"') == 2  # 陈家属 and 王租客
    assert "139****1234" in page and "13912341234" not in page
    assert page.count('data-letter="activated"') == 1 and "陈业主" in page
    assert page.count('data-letter="no-phone"') == 1 and "陈小弟" in page
    assert "旧业主" not in page

    response = client.post(f"/units/{world.unit.id}/letters")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    pages, text, fonts = pdf_facts(response.data, tmp_path)
    assert pages == 2
    assert "Noto-Sans-CJK" in fonts or "WenQuanYi" in fonts, fonts  # the CJK font, embedded
    assert text.count("测试花园") >= 2 and "http://localhost/" in text
    assert "138****0002" in text and "139****1234" in text and "13912341234" not in text
    assert "车位08" in text  # the tenant's letter names both of their units
    assert "陈业主" not in text and "陈小弟" not in text
    assert "激活" in text and len(CODE.findall(text)) == 2
    letters = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "resident.letter")
    ).all()
    assert sorted(e.entity_id for e in letters) == sorted([world.family.id, household["tenant"].id])
    assert {e.actor_id for e in letters} == {world.frontdesk.id}
    assert {e.estate_id for e in letters} == {world.estate.id}
    audit_page = login_as("manager").get("/admin/audit").get_data(as_text=True)
    assert "打印激活函" in audit_page and "王租客" in audit_page


def test_the_code_on_the_letter_activates_once(client, world, login_as, tmp_path):
    from portal.core import codes
    from portal.core.errors import ServiceError

    login_as("frontdesk")
    text = pdf_facts(client.post(f"/units/{world.unit.id}/letters").data, tmp_path)[1]
    (code,) = CODE.findall(text)
    client.post("/auth/logout")
    # The QR code's page, the phone filled in; the letter's code needs no SMS.
    page = client.get("/auth/activate?phone=13800000002").get_data(as_text=True)
    assert 'value="13800000002"' in page
    client.post("/auth/activate", data={"phone": "13800000002", "have_code": "x"})
    password = "a-long-new-password"
    done = client.post(
        "/auth/activate/code",
        data={"phone": "13800000002", "code": code, "password": password, "confirm": password},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert world.family.password_hash
    with pytest.raises(ServiceError) as refused:  # one use
        codes.activate("13800000002", code, "another-long-password")
    assert "code" in refused.value.fields
    db.session.commit()
    # Activated: the household has nobody left to print for.
    login_as("frontdesk")
    assert 'data-testid="no-letters"' in client.get(f"/units/{world.unit.id}/letters").text


def test_a_new_letter_replaces_the_earlier_one(client, world, login_as, tmp_path):
    from portal.core import codes
    from portal.core.errors import ServiceError

    login_as("frontdesk")
    sms = codes.issue(world.family, codes.ACTIVATE)  # a code by SMS meanwhile stays valid
    db.session.commit()
    first = pdf_facts(client.post(f"/units/{world.unit.id}/letters").data, tmp_path)[1]
    second = pdf_facts(client.post(f"/units/{world.unit.id}/letters").data, tmp_path)[1]
    assert CODE.findall(first) != CODE.findall(second)
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "resident.letter")
        )
        == 2
    )
    with pytest.raises(ServiceError):
        codes.redeem("13800000002", codes.ACTIVATE, CODE.findall(first)[0])
    db.session.commit()  # the wrong try counts (one of five)
    assert codes.redeem("13800000002", codes.ACTIVATE, sms).id == world.family.id
    with pytest.raises(ServiceError):  # one code used: the person's other codes die with it
        codes.redeem("13800000002", codes.ACTIVATE, CODE.findall(second)[0])


def test_the_qr_code_holds_the_activation_page_and_phone_not_the_code(app, world):
    from urllib.parse import parse_qs, urlsplit

    from portal.blueprints.units import activation, letters

    with app.test_request_context("/units/1/letters", base_url="https://wuye.example.cn"):
        household = activation.people_of(world.estate.id, [world.unit.id])
        address = letters.portal_address(world.estate.id)
        (letter,) = activation.issue_letters(
            world.estate, household, activate_url=letters.activation_url(address), actor=None
        )
    url = urlsplit(letter.url)
    assert address == "https://wuye.example.cn/"
    assert (url.scheme, url.netloc, url.path) == ("https", "wuye.example.cn", "/auth/activate")
    assert parse_qs(url.query) == {"phone": ["13800000002"]}
    assert letter.code not in letter.url and letter.qr.startswith("data:image/svg+xml")


def test_letters_in_english_carry_the_chinese_steps_too(client, world, login_as, tmp_path):
    login_as("frontdesk")
    client.get("/lang/en")
    text = pdf_facts(client.post(f"/units/{world.unit.id}/letters").data, tmp_path)[1]
    assert "Activation code" in text and "activation page" in text
    assert pdf_facts(client.post(f"/units/{world.unit.id}/letters").data, tmp_path)[0] == 1
    assert "激活码" in text or "密码" in text  # the Chinese steps below the English


def test_a_household_that_needs_no_letter_is_told_so(client, world, login_as):
    login_as("manager")
    page = client.get(f"/units/{world.unit2.id}/letters")  # 林邻居 has a password
    assert 'data-testid="no-letters"' in page.get_data(as_text=True)
    response = client.post(f"/units/{world.unit2.id}/letters")
    assert response.status_code == 303
    assert db.session.scalar(select(AuditEntry.id)) is None


def test_building_letters_job_makes_the_pdf_with_progress(
    client, world, login_as, household, app, tmp_path, monkeypatch
):
    from portal.blueprints.units import activation

    monkeypatch.setitem(app.config, "JOB_RESULTS_DIR", str(tmp_path))
    seen = []
    original = activation.set_progress

    def spy(job, done, total):
        original(job, done, total)
        seen.append(db.session.get(Job, job.id).progress)

    monkeypatch.setattr(activation, "set_progress", spy)
    login_as("frontdesk")
    form = client.get("/units/letters").get_data(as_text=True)
    assert f'value="{world.unit.building_id}"' in form
    assert f'value="{world.other_unit.building_id}"' not in form
    response = client.post("/units/letters", data={"building": str(world.unit.building_id)})
    assert response.status_code == 303
    job = db.session.scalar(select(Job).where(Job.kind == "activation_letters"))
    assert job.status == JobStatus.finished and job.progress == 100, job.error
    assert seen == [25, 75]  # progress reported on the way
    status = client.get(f"/api/v1/jobs/{job.id}").get_json()
    assert status["progress"] == 100 and status["result_url"].endswith("/result")
    pdf = client.get(status["result_url"])
    pages, text, _fonts = pdf_facts(pdf.data, tmp_path)
    # 1栋: 陈家属 and 王租客 (1单元101 and 车位08); 林邻居 in 2单元101 has activated.
    assert pages == 2 and len(CODE.findall(text)) == 2
    assert f'data-testid="job-{job.id}"' in client.get("/units/letters").get_data(as_text=True)
    # The PDF holds live codes: another clerk of the estate cannot fetch it.
    login_as("manager")
    assert client.get(f"/jobs/{job.id}/result").status_code == 404
    assert client.get(f"/api/v1/jobs/{job.id}").status_code == 404


def test_a_building_with_nobody_to_print_fails_the_job_with_a_reason(
    client, world, login_as, app, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "JOB_RESULTS_DIR", str(tmp_path))
    login_as("frontdesk")
    client.post("/units/letters", data={"building": str(world.vacant.building_id)})
    job = db.session.scalar(select(Job).where(Job.kind == "activation_letters"))
    assert job.status == JobStatus.failed
    assert "没有需要打印的激活函" in job.error  # the clerk's language (Chinese by default)
    assert db.session.scalar(select(AuditEntry.id)) is None


def test_the_portal_address_setting_goes_on_the_letter(client, world, login_as, tmp_path):
    from portal.core import settings

    settings.set_value("portal.address", "https://wuye.example.cn", actor=world.admin)
    db.session.commit()
    login_as("frontdesk")
    text = pdf_facts(client.post(f"/units/{world.unit.id}/letters").data, tmp_path)[1]
    assert "https://wuye.example.cn/" in text and "localhost" not in text


def test_the_address_setting_refuses_what_is_no_web_address(world):
    from portal.core import settings
    from portal.core.errors import ServiceError

    for bad in ("wuye.example.cn", "ftp://x", "https://x/?a=1", "javascript:alert(1)"):
        with pytest.raises(ServiceError):
            settings.parse("portal.address", bad)
    assert settings.parse("portal.address", "https://wuye.example.cn/") == (
        "https://wuye.example.cn/"
    )


def test_mask_phone():
    from portal.blueprints.units.activation import mask_phone

    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("02112345678") == "021****5678"
    assert mask_phone("1234") == "****"
    assert mask_phone(None) == ""


@pytest.mark.parametrize(
    ("username", "status"),
    [("resident", 403), ("technician", 403), ("frontdesk_other", 404), ("manager", 200)],
)
def test_only_the_estates_counter_staff_print_letters(client, world, login_as, username, status):
    login_as(username)
    assert client.get(f"/units/{world.unit.id}/letters").status_code == status
    posted = client.post(f"/units/{world.unit.id}/letters")
    assert posted.status_code == (200 if status == 200 else status)
    building = client.post("/units/letters", data={"building": str(world.unit.building_id)})
    assert building.status_code == (303 if status == 200 else status)
    if status != 200:
        assert db.session.scalar(select(AuditEntry.id)) is None
        assert db.session.scalar(select(Job.id)) is None


def test_forged_ids_answer_404(client, world, login_as):
    login_as("frontdesk")
    assert client.get(f"/units/{world.other_unit.id}/letters").status_code == 404
    assert client.post(f"/units/{world.other_unit.id}/letters").status_code == 404
    assert client.get("/units/2147483647/letters").status_code == 404
    for forged in (str(world.other_unit.building_id), "2147483647"):
        assert client.post("/units/letters", data={"building": forged}).status_code == 404
    for bad in ("", "x", "9" * 30):
        assert client.post("/units/letters", data={"building": bad}).status_code == 400
    assert db.session.scalar(select(Job.id)) is None
    assert db.session.scalar(select(AuditEntry.id)) is None


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    assert client.get(f"/units/{world.unit.id}/letters").status_code == 302
    assert client.post("/units/letters", data={"building": "1"}).status_code == 302


def test_printing_needs_the_forms_token(client, world, login_as, app, monkeypatch):
    login_as("frontdesk")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/units/{world.unit.id}/letters").status_code == 400
    assert db.session.scalar(select(AuditEntry.id)) is None


def test_the_unit_pages_lead_to_the_letters(client, world, login_as):
    login_as("frontdesk")
    found = client.get("/units/").get_data(as_text=True)
    assert 'data-testid="building-letters"' in found and "/units/letters" in found
    unit = client.get(f"/units/{world.unit.id}").get_data(as_text=True)
    assert f'/units/{world.unit.id}/letters"' in unit and 'data-testid="unit-letters"' in unit
    login_as("technician")
    assert 'data-testid="unit-letters"' not in client.get(f"/units/{world.unit.id}").get_data(
        as_text=True
    )
