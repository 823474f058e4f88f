"""Optimistic concurrency: ETag = the routing version; If-Match required on PUT and
DELETE (428), a stale one refused (412, with the current ETag); parallel writes on
SQLite lose no update."""

from __future__ import annotations

import asyncio

from tests.integration.api_routing.conftest import Api

Q = "/api/v1/config/queues"
D = "/api/v1/config/dids"


async def test_put_and_delete_without_if_match_are_428_with_the_current_etag(api: Api) -> None:
    await api.write("POST", Q, {"name": "vip"})
    for method, url, body in [("PUT", f"{Q}/spare", {}), ("DELETE", f"{Q}/vip", None),
                              ("PUT", "/api/v1/config/globals", {})]:  # fmt: skip
        response = await api.write(method, url, body, fresh=False)
        assert response.status_code == 428, response.text
        assert response.headers["ETag"] == '"v2"'
        assert "If-Match required" in response.json()["detail"]
    assert await api.repo.current_version() == 2


async def test_a_stale_if_match_is_412_with_the_current_etag_and_changes_nothing(
    api: Api,
) -> None:
    read = await api.as_("root", "GET", f"{Q}/spare")
    first = await api.as_("sup", "GET", f"{Q}/spare")
    assert read.headers["ETag"] == first.headers["ETag"] == '"v1"'
    mine = await api.as_("root", "PUT", f"{Q}/spare", json={"wrapup": 1},
                         headers={"If-Match": '"v1"'})  # fmt: skip
    assert mine.status_code == 200
    theirs = await api.as_("root", "PUT", f"{Q}/spare", json={"wrapup": 99},
                           headers={"If-Match": read.headers["ETag"]})  # fmt: skip
    assert theirs.status_code == 412
    assert theirs.headers["ETag"] == '"v2"'
    assert "If-Match is version 1, the current version is 2" in theirs.json()["detail"]
    assert (await api.routing()).queues["spare"].wrapup == 1
    gone = await api.as_("root", "DELETE", f"{Q}/spare", headers={"If-Match": '"v1"'})
    assert gone.status_code == 412
    post = await api.as_("root", "POST", Q, json={"name": "x"}, headers={"If-Match": '"v1"'})
    assert post.status_code == 412  # POST checks an If-Match it is given
    for form in ('W/"{}"', "{}", "*"):  # weak or bare forms are read leniently; * = any
        tag = form.format((await api.etag()).strip('"'))
        ok = await api.as_(
            "root", "PUT", f"{Q}/spare", json={"wrapup": 3}, headers={"If-Match": tag}
        )
        assert ok.status_code == 200, (tag, ok.text)
    junk = await api.as_("root", "PUT", f"{Q}/spare", json={}, headers={"If-Match": '"abc"'})
    assert junk.status_code == 412
    assert junk.headers["ETag"] == '"v3"'  # the same content twice: no version


async def test_post_needs_no_if_match_and_parallel_posts_all_land(api: Api) -> None:
    n = 8
    numbers = [f"+1555010{i:04d}" for i in range(200, 200 + n)]

    async def post(number: str) -> int:
        response = await api.as_("root", "POST", D, json={"number": number, "queue": "sales"})
        assert response.status_code == 201, response.text
        return int(response.headers["ETag"].strip('"v'))

    versions = await asyncio.gather(*(post(number) for number in numbers))
    assert sorted(versions) == list(range(2, 2 + n))  # one version each, n apart
    stored = {d.number for d in (await api.routing()).dids}
    assert stored == {"+15550100100", *numbers}
    assert await api.repo.current_version() == 1 + n


async def test_parallel_puts_with_the_same_if_match_exactly_one_wins(api: Api) -> None:
    tag = await api.etag()

    async def put(timeout: int) -> int:
        response = await api.as_("root", "PUT", f"{Q}/spare", json={"ring_timeout": timeout},
                                 headers={"If-Match": tag})  # fmt: skip
        assert response.status_code in (200, 412), response.text
        return response.status_code

    codes = await asyncio.gather(*(put(t) for t in range(10, 16)))
    assert sorted(codes) == [200] + [412] * 5
    assert await api.repo.current_version() == 2
    winner = (await api.routing()).queues["spare"].ring_timeout
    assert winner in range(10, 16)
