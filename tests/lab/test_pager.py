"""Both pager styles and `set cli pagination` (§1.1), driven key by key over a small PTY."""

from __future__ import annotations

import re

from tests.lab.conftest import OpenClient
from tests.lab.vosclient import PAGER_LESS, PAGER_MORE, PROMPT, clean
from ucterm.lab import LabEstate

SMALL = (80, 10)


def _body(text: str) -> str:
    """What came before the more-pager prompt."""
    match = PAGER_MORE.search(text)
    assert match
    return text[:match.start()]


async def test_more_pager_keys(estate: LabEstate, open_client: OpenClient) -> None:
    node = estate.node("cucm14-pub")
    full = await (await open_client(node, size=(200, 200))).run("utils service list")
    lines = full.splitlines()
    assert len(lines) > 2 * (SMALL[1] - 1)
    client = await open_client(node, size=SMALL)
    client.send("utils service list\r")
    first = _body(await client.read_until(PAGER_MORE))
    assert clean(first).splitlines()[1:] == lines[:SMALL[1] - 1]  # a page is the height minus one
    client.send("\r")  # <enter>: one more line
    one = _body(await client.read_until(PAGER_MORE))
    assert one.startswith("\r\x1b[K")  # the pager prompt is erased before the output goes on
    assert clean(one).splitlines() == [lines[SMALL[1] - 1]]
    client.send(" ")  # <space>: a page
    page = _body(await client.read_until(PAGER_MORE))
    assert clean(page).splitlines() == lines[SMALL[1]:2 * SMALL[1] - 1]
    client.send("q")  # <q>: back to the prompt, the rest is not shown
    rest = await client.read_until(PROMPT)
    assert lines[-1] not in clean(rest)


async def test_more_pager_paged_output_is_complete(estate: LabEstate, open_client: OpenClient) -> None:
    node = estate.node("imp14-pub")
    full = await (await open_client(node, size=(200, 200))).run("utils service list")
    client = await open_client(node, size=SMALL)
    paged = await client.run("utils service list", pager_keys=" ")
    assert paged == full
    assert "Press <enter> for 1 line" in client.transcript


async def test_pagination_off_turns_the_more_pager_off(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    client = await open_client(fresh_estate.node("cucm14-pub"), size=SMALL)
    assert await client.run("show cli pagination") == "Automatic Pagination : On."
    assert await client.run("set cli pagination off") == "Automatic pagination is turned off"
    assert await client.run("show cli pagination") == "Automatic Pagination : Off."
    before = len(client.transcript)
    await client.run("utils service list")
    assert "Press <enter>" not in client.transcript[before:]
    assert await client.run("set cli pagination on") == "Automatic pagination is turned on"
    other = await open_client(fresh_estate.node("cucm14-pub"), size=SMALL)
    assert await other.run("show cli pagination") == "Automatic Pagination : On."  # per session


async def test_less_pager_for_the_trust_list(estate: LabEstate, open_client: OpenClient) -> None:
    node = estate.node("cucm14-pub")
    full = (await (await open_client(node, size=(250, 200))).run("show cert list trust")).splitlines()
    total = len(full)
    page = SMALL[1] - 2
    client = await open_client(node, size=SMALL)
    client.send("show cert list trust\r")

    async def screen(key: str | None) -> tuple[list[str], tuple[int, int, int]]:
        if key is not None:
            client.send(key)
        text = await client.read_until(PAGER_LESS)
        match = PAGER_LESS.search(text)
        assert match
        body = text[:match.start()]
        if key is None:
            body = body.split("\r\n", 1)[1]  # drop the echoed command
        else:
            assert body.startswith("\r\n")
            body = body[2:]
        numbers = tuple(int(g) for g in match.groups())
        return clean(body).splitlines(), numbers  # type: ignore[return-value]

    lines, numbers = await screen(None)
    assert numbers == (1, page, total) and lines == full[:page]
    lines, numbers = await screen("n")
    assert numbers == (page + 1, 2 * page, total) and lines == full[page:2 * page]
    lines, numbers = await screen("p")
    assert numbers == (1, page, total)
    lines, numbers = await screen("e")
    assert numbers == (total - page + 1, total, total) and lines == full[-page:]
    lines, numbers = await screen("b")
    assert numbers == (1, page, total)
    client.send("q")
    await client.read_until(PROMPT)


async def test_less_pager_stays_with_pagination_off(fresh_estate: LabEstate, open_client: OpenClient) -> None:
    client = await open_client(fresh_estate.node("cucm14-pub"), size=SMALL)
    await client.run("set cli pagination off")
    out = await client.run("show cert list trust")  # the helper answers n ... q like unicon
    assert re.search(r"options: q=quit, n=next, p=prev, b=begin, e=end \(lines 1 - 8 of \d+\)", client.transcript)
    assert len(out.splitlines()) == len(fresh_estate.node("cucm14-pub").trust_entries())


async def test_short_outputs_are_not_paged(estate: LabEstate, open_client: OpenClient) -> None:
    client = await open_client(estate.node("cuc15-pub"), size=SMALL)
    await client.run("show version active")
    await client.run("show cert list trust")
    assert "Press <enter>" not in client.transcript and "options:" not in client.transcript
