from tests.conftest import assert_error


async def test_health_answers(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


async def test_unknown_route_is_res001(client):
    assert_error(await client.get("/api/nope"), 404, "RES001")
