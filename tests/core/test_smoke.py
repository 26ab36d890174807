def test_home_redirects_anonymous(client):
    assert client.get("/").status_code == 302


def test_resident_home(client, login_as):
    login_as("resident")
    page = client.get("/").get_data(as_text=True)
    assert "1单元101" in page
