"""Home pages, unit search, admin pages, language, error pages and query counts."""

from sqlalchemy import select

from portal.core.audit import AuditEntry
from portal.core.places import Occupancy
from portal.extensions import db
from tests.factories import make_resident, make_unit


def test_resident_home_shows_units_and_honest_empty_states(client, login_as):
    login_as("resident")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "A区 1栋 1单元101" in page
    assert "2单元101" not in page  # the neighbour's unit is not mine
    for section in ("my-units", "my-requests", "my-bills", "my-notices"):
        assert f'data-testid="{section}"' in page
    assert "400-800-1234" in page  # the hotline setting's default


def test_staff_home_shows_rates_from_one_aggregate(client, login_as):
    login_as("manager")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # 3 units, all handed over; 2 occupied → handover 100.0 %, occupancy 66.7 %.
    assert "100.0%" in page and "66.7%" in page
    assert "Imports" in page and "Staff accounts" not in page  # navigation per role
    login_as("admin")
    admin_page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "测试花园" in admin_page and "别的花园" in admin_page  # company-wide
    assert "Staff accounts" in admin_page


def test_home_query_count_does_not_grow_with_units(client, world, login_as, count_queries):
    def measure(username):
        with count_queries() as counter:
            assert client.get("/").status_code == 200
        return counter.count

    login_as("manager")
    staff_before = measure("manager")
    login_as("resident")
    resident_before = measure("resident")
    for n in range(40):
        unit = make_unit(
            world.estate,
            zone="C区",
            building=f"{n % 4}栋",
            number=f"{n}01",
            occupancy=list(Occupancy)[n % 8],
        )
        make_resident(unit)
    make_resident(
        make_unit(world.estate, number="9901"), name="陈业主", phone="13800000001"
    )  # another person, same name: not the resident
    db.session.commit()
    assert measure("resident") == resident_before
    login_as("manager")
    assert measure("manager") == staff_before


def test_unit_search_page(client, world, login_as):
    login_as("frontdesk")
    page = client.get("/units/?q=林邻居").get_data(as_text=True)
    assert "2单元101" in page and "1单元101" not in page
    page = client.get("/units/?q=13800000001").get_data(as_text=True)
    assert "A区 1栋 1单元101" in page
    empty = client.get("/units/?q=nothing-like-this").get_data(as_text=True)
    assert 'class="empty-state"' in empty
    assert client.get("/units/?zone=abc&page=-4").status_code == 200


def test_unit_search_query_count_is_bounded(client, world, login_as, count_queries):
    login_as("frontdesk")
    with count_queries() as few:
        client.get("/units/")
    for n in range(30):
        make_resident(make_unit(world.estate, zone="D区", building="1栋", number=f"x{n}"))
    db.session.commit()
    with count_queries() as many:
        client.get("/units/")
    assert many.count == few.count


def test_unit_detail_for_resident_and_staff(client, world, login_as):
    login_as("resident")
    own = client.get(f"/units/{world.unit.id}").get_data(as_text=True)
    assert "陈家属" in own and "13800000002" not in own  # household names, no phones
    assert client.get(f"/units/{world.unit2.id}").status_code == 404
    assert client.get("/units/999999").status_code == 404
    login_as("frontdesk")
    staff = client.get(f"/units/{world.unit.id}").get_data(as_text=True)
    assert "13800000002" in staff


def test_languages(client, world):
    zh = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in zh and "登录" in zh
    en = client.get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert 'lang="en"' in en.get_data(as_text=True)
    assert "Sign in" in en.get_data(as_text=True)
    switched = client.get("/lang/en?next=/auth/login")
    assert switched.status_code == 302 and switched.location == "/auth/login"
    page = client.get("/auth/login", headers={"Accept-Language": "zh-CN"})
    assert "Sign in" in page.get_data(as_text=True)  # the chosen language wins
    assert client.get("/lang/en?next=https://evil.example/").location == "/"
    client.get("/lang/zh_CN")
    assert "登录" in client.get("/auth/login").get_data(as_text=True)


def test_friendly_error_pages_in_both_languages(client, world, database_url):
    zh = client.get("/no-such-page")
    assert zh.status_code == 404 and 'lang="zh-CN"' in zh.get_data(as_text=True)
    assert "这里什么也没有" in zh.get_data(as_text=True) or "404" in zh.get_data(as_text=True)
    en = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "There is nothing here." in en.get_data(as_text=True)

    from tests.conftest import make_test_app

    broken = make_test_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @broken.get("/__boom")
    def boom():
        raise RuntimeError("boom")

    response = broken.test_client().get("/__boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    with broken.app_context():
        from portal.extensions import db as broken_db

        broken_db.engine.dispose()


def test_admin_changes_a_setting_with_an_audit_entry(client, world, login_as):
    login_as("admin")
    assert client.post("/admin/settings/centre.hotline", data={"value": " "}).status_code == 400
    response = client.post("/admin/settings/centre.hotline", data={"value": "0755-1234567"})
    assert response.status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.change"))
    assert entry.actor_id == world.admin.id
    assert entry.before == {"centre.hotline": "400-800-1234"}
    assert entry.after == {"centre.hotline": "0755-1234567"}
    assert "0755-1234567" in client.get("/admin/settings").get_data(as_text=True)
    assert client.get("/admin/settings/no.such.key").status_code == 404

    def log_rows():  # the table, not the kind filter (which lists every label)
        page = client.get("/admin/audit").get_data(as_text=True)
        return page.split('data-testid="audit-log"', 1)[1]

    assert "修改设置" in log_rows()
    login_as("manager")  # a company-wide change is not in one estate's log
    assert "修改设置" not in log_rows()


def test_admin_creates_staff_on_the_web(client, world, login_as):
    login_as("admin")
    form = {
        "username": "tech2",
        "name": "新师傅",
        "phone": "13900009999",
        "role": "technician",
        "estate": str(world.estate.id),
        "password": "secret-123",
    }
    assert client.post("/admin/users", data=form).status_code == 302
    again = client.post("/admin/users", data=form)
    assert again.status_code == 400 and 'data-field="username"' in again.get_data(as_text=True)
    company_tech = dict(form, username="tech3", estate="0")
    assert client.post("/admin/users", data=company_tech).status_code == 400
    forged = dict(form, username="tech4", estate="999999")
    assert client.post("/admin/users", data=forged).status_code == 400
    client.post("/auth/logout")
    assert (
        client.post(
            "/auth/login", data={"login": "13900009999", "password": "secret-123"}
        ).status_code
        == 302
    )
