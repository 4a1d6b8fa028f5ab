"""What a deployed server refuses, what it never sends, and how it stops.

Against real ``bokeh serve app`` processes: signed session ids refuse unsigned and forged
ones (on the page and on the websocket), websockets opened by another site's pages are
refused, only aggregates (images of the canvas's size and numbers about them) ever reach a
client, and SIGTERM stops the server cleanly once the app has released its data. The
deployment guide, docs/deployment.md, points here.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from bokeh.client.websocket import WebSocketClientConnectionWrapper
from bokeh.core.types import ID
from bokeh.document import Document
from bokeh.models import ColumnDataSource
from bokeh.protocol import Protocol
from bokeh.util.token import (
    check_session_id_signature,
    generate_jwt_token,
    generate_secret_key,
    generate_session_id,
    get_session_id,
)
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from harness import AppClient, ImageUpdate, ServerProcess
from pipeline import CsvSource, PackedGrid, pack_grid, unpack_grid

SERVER = pytest.mark.server

WIDTH, HEIGHT = 40, 30  # a small canvas, so that a column of raw rows cannot pass for an image
CANVAS_BYTES = WIDTH * HEIGHT * 8  # float64, the widest grid (sum, mean, min, max)
# Arrays index pixels: the image's grid, or one number per pixel column or row and the zero
# where the histogram's step area closes.
PIXEL_SHAPES = {(HEIGHT, WIDTH), (WIDTH + 1,), (HEIGHT + 1,)}
# The page's own arrays (the image, the histograms' pixel numbers and sums) with room to spare;
# raw rows would need one array per column of the table, or many more bytes per array.
MAX_BUFFERS_PER_MESSAGE = 8
CANVAS_ARGS = ["--width", str(WIDTH), "--height", str(HEIGHT)]
SMALL_DATA = ["--rows", "20000", *CANVAS_ARGS]
RAW_ROWS = 20_000  # a raw column (160,000 bytes as float64) is far larger than CANVAS_BYTES
HTTP_TIMEOUT = 30.0  # s
SHUTDOWN_SECONDS = 5.0  # SIGTERM to exit; about 1.5 s on 2 busy cores
TOKEN_IN_PAGE = re.compile(r'"token":"([^"]+)"')
ARRAY_TYPES = ("ndarray", "typed_array")  # how Bokeh serializes NumPy and typed arrays
BYTE_ORDERS = {"little": "<", "big": ">"}
# Views whose ends are multiples of 1/8, so never one of the file's values (odd multiples of
# 1/2048); the last is 1 x 1, where most pixels hold a single row.
VIEWS = [(-4.0, 4.0, -4.0, 4.0), (1.0, 3.0, 2.0, 5.0), (0.5, 1.5, -1.25, -0.25)]
REDUCTIONS = ["sum", "mean", "min", "max", "count"]


# -- HTTP and websocket helpers -------------------------------------------------------------------
def fetch_page(url: str) -> tuple[int, str]:
    """The HTTP status of a GET and its body (empty when refused)."""
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, ""


def page_token(url: str) -> str:
    """The session token that the app's page hands to BokehJS for its websocket."""
    status, page = fetch_page(url)
    assert status == 200
    found = TOKEN_IN_PAGE.search(page)
    assert found is not None, page[-2000:]
    return found.group(1)


def websocket_url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://", 1) + "/ws"


def own_origin(server: ServerProcess) -> str:
    """The Origin a browser sends for the app's own page."""
    return f"http://{urlsplit(server.url).netloc}"


async def _first_reply(url: str, token: str, origin: str | None) -> str | bytes | None:
    headers = {} if origin is None else {"Origin": origin}
    # BokehJS sends the token as the second websocket subprotocol, after "bokeh".
    connection = await websocket_connect(HTTPRequest(url, headers=headers), subprotocols=["bokeh", token])
    try:
        reply = await asyncio.wait_for(connection.read_message(), HTTP_TIMEOUT)
    finally:
        connection.close()
    if reply is not None:  # read the rest of the message until the server has closed its side
        while await asyncio.wait_for(connection.read_message(), HTTP_TIMEOUT) is not None:
            pass
    return reply


def first_reply(server: ServerProcess, token: str, origin: str | None) -> dict[str, Any] | None:
    """The header of the server's first websocket message, or None if it closed the connection.

    Raises ``HTTPClientError`` when the server refuses the websocket upgrade itself.
    """
    reply = asyncio.run(_first_reply(websocket_url(server), token, origin))
    return None if reply is None else dict(json.loads(reply))


# -- a. signed session ids ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secret_key() -> str:
    return generate_secret_key()  # what `bokeh secret` prints


@pytest.fixture(scope="module")
def signed_server(secret_key: str) -> Iterator[ServerProcess]:
    with ServerProcess(
        SMALL_DATA, ["--session-ids", "signed"], environment={"BOKEH_SECRET_KEY": secret_key}
    ) as process:
        yield process


@SERVER
def test_signed_ids_refuse_unsigned_and_forged_session_ids(signed_server: ServerProcess) -> None:
    other_key = generate_secret_key().encode()
    refused = {
        "made up": "my-session",
        "unsigned": generate_session_id(signed=False),
        "forged signature": generate_session_id(signed=False) + ".c2lnbmF0dXJl",
        "signed with another key": generate_session_id(secret_key=other_key, signed=True),
    }
    statuses = {
        name: fetch_page(f"{signed_server.url}?bokeh-session-id={sid}")[0] for name, sid in refused.items()
    }
    assert statuses == dict.fromkeys(refused, 403)
    log = signed_server.log()
    for session_id in refused.values():
        assert f"Session id had invalid signature: {session_id!r}" in log


@SERVER
def test_signed_ids_serve_a_correctly_signed_session_id(
    signed_server: ServerProcess, secret_key: str
) -> None:
    session_id = generate_session_id(secret_key=secret_key.encode(), signed=True)
    token = page_token(f"{signed_server.url}?bokeh-session-id={session_id}")
    # the page's token names that session, and the websocket accepts it
    assert get_session_id(token) == session_id
    reply = first_reply(signed_server, token, own_origin(signed_server))
    assert reply is not None and reply["msgtype"] == "ACK"


@SERVER
def test_signed_ids_give_a_page_without_one_a_signed_session_id(
    signed_server: ServerProcess, secret_key: str
) -> None:
    # "signed" keeps session ids unguessable but lets anyone open a session
    session_id = get_session_id(page_token(signed_server.url))
    assert check_session_id_signature(session_id, secret_key=secret_key.encode(), signed=True)


@SERVER
def test_external_signed_ids_serve_only_session_ids_signed_elsewhere(secret_key: str) -> None:
    environment = {"BOKEH_SECRET_KEY": secret_key}
    with ServerProcess(SMALL_DATA, ["--session-ids", "external-signed"], environment=environment) as server:
        without_id = fetch_page(server.url)[0]
        session_id = generate_session_id(secret_key=secret_key.encode(), signed=True)
        signed_by_front_end = fetch_page(f"{server.url}?bokeh-session-id={session_id}")[0]
        unsigned = fetch_page(f"{server.url}?bokeh-session-id={generate_session_id(signed=False)}")[0]
    assert (without_id, signed_by_front_end, unsigned) == (403, 200, 403)


@SERVER
def test_signed_ids_websocket_refuses_unsigned_and_forged_tokens(
    signed_server: ServerProcess, secret_key: str
) -> None:
    key = secret_key.encode()
    other_key = generate_secret_key().encode()
    good_id = generate_session_id(secret_key=key, signed=True)
    unsigned_id = generate_session_id(signed=False)
    other_id = generate_session_id(secret_key=other_key, signed=True)
    forged = {
        "unsigned token and id": generate_jwt_token(unsigned_id, signed=False),
        "good id, token signed with another key": generate_jwt_token(
            good_id, secret_key=other_key, signed=True
        ),
        "id and token signed with another key": generate_jwt_token(
            other_id, secret_key=other_key, signed=True
        ),
    }
    # The upgrade succeeds, then Bokeh checks the token and drops the connection without a
    # message (no ACK, so no session).
    replies = {
        name: first_reply(signed_server, token, own_origin(signed_server)) for name, token in forged.items()
    }
    assert replies == dict.fromkeys(forged)
    log = signed_server.log()
    for session_id in (unsigned_id, good_id, other_id):
        assert f"Token for session {session_id!r} had invalid signature" in log
    # a front end that holds the key signs its own tokens
    accepted = first_reply(
        signed_server, generate_jwt_token(good_id, secret_key=key, signed=True), own_origin(signed_server)
    )
    assert accepted is not None and accepted["msgtype"] == "ACK"


# -- b. websocket origins -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(SMALL_DATA) as process:  # --allow-websocket-origin=127.0.0.1:PORT
        yield process


@SERVER
def test_websockets_opened_by_other_sites_are_refused(server: ServerProcess) -> None:
    token = page_token(server.url)
    port = server.port
    foreign = ["http://evil.example", f"http://evil.example:{port}", f"http://127.0.0.1:{port + 1}"]
    for origin in foreign:
        with pytest.raises(HTTPClientError) as refused:
            first_reply(server, token, origin)
        assert refused.value.code == 403, origin
        assert f"Refusing websocket connection from Origin {origin!r}" in server.log()
    # the same token from the app's own page is accepted
    reply = first_reply(server, token, own_origin(server))
    assert reply is not None and reply["msgtype"] == "ACK"
    # Clients that are not browsers send no Origin and are not checked: the origin check
    # keeps other sites' pages out, it does not authenticate (signed ids and --auth-module do).
    reply = first_reply(server, token, None)
    assert reply is not None and reply["msgtype"] == "ACK"


# -- c. only aggregates leave the server ----------------------------------------------------------
@dataclass(frozen=True)
class WireMessage:
    """One Bokeh protocol message, as its fragments crossed the websocket."""

    header: dict[str, Any]
    metadata: Any
    content: Any
    buffers: dict[str, bytes]

    @property
    def name(self) -> str:
        return f"{self.header['msgtype']} {self.header['msgid']}"


def wire_messages(fragments: Sequence[str | bytes]) -> list[WireMessage]:
    """Group websocket fragments into messages.

    Each message is a header, metadata and content (JSON text), then for each of the header's
    ``num_buffers`` a JSON reference and the binary payload.
    """
    messages = []
    position = 0
    while position < len(fragments):
        header, metadata, content = (json.loads(part) for part in fragments[position : position + 3])
        position += 3
        buffers = {}
        for _ in range(header.get("num_buffers", 0)):
            reference, payload = fragments[position : position + 2]
            assert isinstance(payload, bytes), payload
            buffers[json.loads(reference)["id"]] = payload
            position += 2
        messages.append(WireMessage(header, metadata, content, buffers))
    return messages


def message_fragments(message: Any) -> list[str | bytes]:
    """The fragments Bokeh writes to the websocket for ``message`` (``Message.send``)."""
    fragments: list[str | bytes] = [message.header_json, message.metadata_json, message.content_json]
    for buffer in message.buffers:
        fragments += [json.dumps(buffer.ref), buffer.to_bytes()]
    return fragments


def json_numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_numbers(item)


def serialized_arrays(value: Any) -> Iterator[dict[str, Any]]:
    """Every array in a message's JSON, as Bokeh serialized it."""
    if isinstance(value, dict):
        if value.get("type") in ARRAY_TYPES:
            yield value
            return
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from serialized_arrays(item)


def buffered_array(array: Mapping[str, Any], buffers: Mapping[str, bytes]) -> npt.NDArray[Any]:
    """A serialized array whose bytes are in one of the message's buffers, decoded."""
    dtype = np.dtype(array["dtype"]).newbyteorder(BYTE_ORDERS[array["order"]])
    values = np.frombuffer(buffers[array["array"]["data"]["id"]], dtype=dtype)
    return values.reshape(array["shape"])


def packed_grids(value: Any, buffers: Mapping[str, bytes]) -> Iterator[tuple[str, npt.NDArray[Any]]]:
    """Every packed grid in a message's JSON (``pipeline.packing``, as ``image_wire`` carries
    it), unpacked, with the id of the buffer that holds its bytes."""
    if isinstance(value, dict):
        entries = value.get("entries", []) if value.get("type") == "map" else value.items()
        fields = {key: item for key, item in entries if isinstance(key, str)}
        packed = fields.get("packed")
        if isinstance(packed, list) and packed and isinstance(packed[0], dict) and not is_inline(packed[0]):
            grid = PackedGrid(
                buffered_array(packed[0], buffers),
                fields["dtype"][0],
                fields["rows"][0],
                fields["columns"][0],
                fields["delta"][0],
            )
            yield packed[0]["array"]["data"]["id"], unpack_grid(grid)
            return
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from packed_grids(item, buffers)


def is_inline(array: Mapping[str, Any]) -> bool:
    """Whether the array's bytes are base64 text in the JSON rather than a buffer."""
    return isinstance(array["array"]["data"], str)


@dataclass(frozen=True)
class RawRows:
    """A table's values, to recognise raw rows among the messages a client receives."""

    numbers: frozenset[float]  # every x, y and value
    coordinates: npt.NDArray[np.float64]  # every x and y
    extent: frozenset[float]  # the four ends of the home view: the data's extent, an aggregate

    @classmethod
    def of(cls, frame: pd.DataFrame) -> RawRows:
        x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
        return cls(
            frozenset(np.concatenate([x, y, frame["value"].to_numpy()]).tolist()),
            np.concatenate([x, y]),
            frozenset(float(end) for end in (x.min(), x.max(), y.min(), y.max())),
        )

    def problems(self, messages: Sequence[WireMessage]) -> list[str]:
        """What in ``messages`` is not an aggregate; empty when every message is clean."""
        found = []
        for message in messages:
            found += [f"{message.name}: {problem}" for problem in self._message_problems(message)]
        return found

    def _message_problems(self, message: WireMessage) -> Iterator[str]:
        if len(message.buffers) > MAX_BUFFERS_PER_MESSAGE:
            yield f"{len(message.buffers)} buffers"
        for size in (len(payload) for payload in message.buffers.values()):
            if size > CANVAS_BYTES:
                yield f"a buffer of {size} bytes"
        in_json = [message.header, message.metadata, message.content]
        raw = {number for number in json_numbers(in_json) if number in self.numbers} - self.extent
        if raw:
            yield f"raw values in JSON, such as {sorted(raw)[:3]}"
        # a packed grid's bytes are checked as the grid they unpack to
        unpacked = dict(packed_grids(message.content, message.buffers))
        for array in serialized_arrays(message.content):
            if is_inline(array):  # outside the bounded buffers
                yield f"a {array['dtype']} array inline in JSON"
                continue
            values = unpacked.get(array["array"]["data"]["id"])
            if values is None:
                values = buffered_array(array, message.buffers)
            if values.shape not in PIXEL_SHAPES:
                yield f"a {values.dtype.name} array of shape {values.shape}"
            # grids hold counts or reductions of the value column, never coordinates
            if values.dtype.kind == "f" and np.isin(values, self.coordinates).any():
                yield f"raw coordinates in a {values.dtype.name} array"


def odd_multiples_of_1_2048(rng: np.random.Generator, low: int, high: int) -> npt.NDArray[np.float64]:
    """``RAW_ROWS`` values k/2048 (k odd) in [low, high): exact in binary and in decimal text."""
    return (2 * rng.integers(low * 1024, high * 1024, RAW_ROWS) + 1) / 2048


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(11)
    x, y = odd_multiples_of_1_2048(rng, -8, 8), odd_multiples_of_1_2048(rng, -8, 8)
    # values in [100, 200): apart from the coordinates, so a grid of them never holds one
    frame = pd.DataFrame({"x": x, "y": y, "value": odd_multiples_of_1_2048(rng, 100, 200)})
    path = tmp_path_factory.mktemp("raw") / "points.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def raw_rows(raw_file: Path) -> RawRows:
    frame = CsvSource(raw_file, "x", "y", ("value",)).load()  # as the server reads it
    assert len(frame) == RAW_ROWS
    return RawRows.of(frame)


def pull_doc_reply(data: dict[str, Any], *, inline: bool = False) -> list[str | bytes]:
    """The fragments of a ``PULL-DOC-REPLY`` whose document holds one ``ColumnDataSource``.

    Arrays go in buffers, as Bokeh's protocol sends them, or ``inline`` as base64 in the JSON,
    as in a standalone document.
    """
    document = Document()
    document.add_root(ColumnDataSource(data=data))
    if inline:
        header = {"msgid": "reply", "msgtype": "PULL-DOC-REPLY"}
        return [json.dumps(header), "{}", json.dumps({"doc": document.to_json(deferred=False)})]
    return message_fragments(Protocol().create("PULL-DOC-REPLY", ID("request"), document))


def problem_kinds(raw_rows: RawRows, fragments: Sequence[str | bytes]) -> list[str]:
    """The problems found, without the message names."""
    return [problem.split(": ", 1)[1] for problem in raw_rows.problems(wire_messages(fragments))]


def test_the_aggregate_check_catches_every_row_in_arrays(raw_rows: RawRows) -> None:
    x, y = np.split(raw_rows.coordinates, 2)
    assert problem_kinds(raw_rows, pull_doc_reply({"x": x, "y": y})) == [
        *[f"a buffer of {RAW_ROWS * 8} bytes"] * 2,
        *[f"a float64 array of shape ({RAW_ROWS},)", "raw coordinates in a float64 array"] * 2,
    ]


def test_the_aggregate_check_catches_too_many_arrays_in_one_message(raw_rows: RawRows) -> None:
    many = {f"histogram {number}": np.zeros(WIDTH + 1) for number in range(MAX_BUFFERS_PER_MESSAGE + 1)}
    assert problem_kinds(raw_rows, pull_doc_reply(many)) == [f"{MAX_BUFFERS_PER_MESSAGE + 1} buffers"]


def test_the_aggregate_check_catches_a_few_rows_in_a_small_array(raw_rows: RawRows) -> None:
    few = raw_rows.coordinates[: WIDTH + 1]  # shaped like a histogram
    assert problem_kinds(raw_rows, pull_doc_reply({"x": few})) == ["raw coordinates in a float64 array"]


def test_the_aggregate_check_unpacks_packed_grids(raw_rows: RawRows) -> None:
    # coordinates in a pixel-shaped float grid, packed as image_wire sends grids: its bytes are
    # a flat uint8 array, but the check sees the grid
    grid = raw_rows.coordinates[: HEIGHT * WIDTH // 4].repeat(4).reshape(HEIGHT, WIDTH)
    packed = pack_grid(grid)
    wire = {
        "packed": [packed.data],
        "dtype": [packed.dtype],
        "rows": [packed.rows],
        "columns": [packed.columns],
        "delta": [packed.delta],
    }
    assert problem_kinds(raw_rows, pull_doc_reply(wire)) == ["raw coordinates in a float64 array"]
    clean = pack_grid(np.arange(HEIGHT * WIDTH, dtype=np.uint32).reshape(HEIGHT, WIDTH))
    wire.update(packed=[clean.data], dtype=[clean.dtype], delta=[clean.delta])
    assert problem_kinds(raw_rows, pull_doc_reply(wire)) == []


def test_the_aggregate_check_catches_rows_as_json_numbers(raw_rows: RawRows) -> None:
    few = raw_rows.coordinates[:5].tolist()
    assert problem_kinds(raw_rows, pull_doc_reply({"x": few})) == [
        f"raw values in JSON, such as {sorted(few)[:3]}"
    ]


def test_the_aggregate_check_catches_arrays_inline_in_json(raw_rows: RawRows) -> None:
    few = raw_rows.coordinates[:5]
    assert problem_kinds(raw_rows, pull_doc_reply({"x": few}, inline=True)) == [
        "a float64 array inline in JSON"
    ]


def test_the_aggregate_check_passes_an_image_at_the_data_extent(raw_rows: RawRows) -> None:
    low = min(raw_rows.extent)
    image = {"image": [np.ones((HEIGHT, WIDTH))], "x": [low], "y": [low], "dw": [1.0], "dh": [1.0]}
    assert problem_kinds(raw_rows, pull_doc_reply(image)) == []


def choose_reduction(client: AppClient, name: str) -> ImageUpdate:
    """Choose ``name`` in the page's reduction menu and wait for its image."""

    def select() -> float:
        menu: Any = client.document.get_model_by_name("reduction")
        menu.value = name
        return time.perf_counter()

    sent = client.call(select)
    return client.wait_for_image(lambda update: update.received >= sent)


@SERVER
def test_only_aggregates_leave_the_server(
    raw_file: Path, raw_rows: RawRows, monkeypatch: pytest.MonkeyPatch
) -> None:
    fragments: list[str | bytes] = []
    read_message = WebSocketClientConnectionWrapper.read_message

    async def recording_read_message(self: WebSocketClientConnectionWrapper, callback: Any = None) -> Any:
        fragment = await read_message(self, callback)
        if fragment is not None:
            fragments.append(fragment)
        return fragment

    # every fragment the client receives, from the first document on
    monkeypatch.setattr(WebSocketClientConnectionWrapper, "read_message", recording_read_message)
    app_args = ["--source", str(raw_file), "--columns", "value", *CANVAS_ARGS]
    with ServerProcess(app_args) as server, AppClient(server.url) as client:
        client.wait_for_plot()
        for view in VIEWS:
            client.request_view(*view)
        for reduction in REDUCTIONS:
            update = choose_reduction(client, reduction)
            assert update.grid.dtype.kind == ("u" if reduction == "count" else "f"), reduction
        images = len(client.updates)
    messages = wire_messages(fragments)
    assert raw_rows.problems(messages) == []
    # every image the client showed came once, as a packed grid of the canvas's shape
    packed = [grid for message in messages for _, grid in packed_grids(message.content, message.buffers)]
    assert len(packed) == images and {grid.shape for grid in packed} == {(HEIGHT, WIDTH)}
    unpacked = [
        array
        for message in messages
        for array in serialized_arrays(message.content)
        if buffered_array(array, message.buffers).shape == (HEIGHT, WIDTH)
    ]
    assert unpacked == []  # and never a second time as it is


# -- d. SIGTERM -----------------------------------------------------------------------------------
@SERVER
def test_sigterm_stops_the_server_cleanly_after_releasing_the_data() -> None:
    with ServerProcess(SMALL_DATA) as server, AppClient(server.url) as client:
        client.wait_for_plot()  # loaded, and a viewer connected
        started = time.monotonic()
        # Bokeh's SIGTERM handler stops the event loop, then runs the unload hooks; the
        # command returns normally, so the exit status is 0 (not -SIGTERM).
        returncode = server.stop(timeout=2 * SHUTDOWN_SECONDS)
        seconds = time.monotonic() - started
        log = server.log()
        client.close()
    assert returncode == 0, log
    assert seconds < SHUTDOWN_SECONDS
    assert "Received signal SIGTERM, shutting down" in log
    assert log.count("released the data and render threads") == 1
    assert "Error in server unloaded hook" not in log
