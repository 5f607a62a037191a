def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_ready_checks_database_and_redis(client):
    r = client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}
