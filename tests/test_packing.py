"""Grids packed for the wire (pipeline.packing): exact round trips, a hand-checked layout, errors."""

from __future__ import annotations

import zlib

import datashader as ds
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline import PACKABLE, PackedGrid, PipelineError, pack_grid, unpack_grid


@given(
    hnp.arrays(
        dtype=st.sampled_from(PACKABLE).map(np.dtype),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
    )
)
def test_every_grid_comes_back_bit_for_bit(grid: np.ndarray) -> None:
    packed = pack_grid(grid)
    assert packed.data.dtype == np.uint8 and packed.nbytes == grid.nbytes
    back = unpack_grid(packed)
    assert back.dtype == grid.dtype and back.shape == grid.shape
    assert back.tobytes() == grid.tobytes()  # NaNs and signed zeros included


def test_a_uint16_grid_packs_as_written_out_by_hand() -> None:
    grid = np.array([[1, 3, 2], [256, 0, 65535]], dtype=np.uint16)
    packed = pack_grid(grid)
    # differences from the left: 1, 2, -1 and 256, -256, 65535 (= -1, modulo 2**16);
    # zigzag-coded: 2, 4, 1 and 512, 511, 1; low bytes, then high bytes
    assert packed.data.tolist() == [2, 4, 1, 0, 255, 1, 0, 0, 0, 2, 1, 0]
    assert (packed.dtype, packed.rows, packed.columns, packed.delta) == ("uint16", 2, 3, True)
    np.testing.assert_array_equal(unpack_grid(packed), grid)


def test_one_byte_and_float_grids_are_not_differenced() -> None:
    small = np.array([[5, 250]], dtype=np.uint8)
    assert pack_grid(small).data.tolist() == [5, 250] and not pack_grid(small).delta
    floats = np.array([[1.0, np.nan]], dtype=np.float32)  # 0x3f800000, 0x7fc00000
    packed = pack_grid(floats)
    assert not packed.delta and packed.data.tolist() == [0, 0, 0, 0, 128, 192, 63, 127]


def test_a_big_endian_grid_packs_as_its_little_endian_equal() -> None:
    grid = np.array([[7, 300, 65000]], dtype=">u2")
    assert pack_grid(grid).data.tolist() == pack_grid(grid.astype("<u2")).data.tolist()
    np.testing.assert_array_equal(unpack_grid(pack_grid(grid)), grid)


def test_a_count_grid_deflates_smaller_packed() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.standard_normal(2_000_000), "y": rng.standard_normal(2_000_000)})
    counts = ds.Canvas(200, 150, (-5, 5), (-5, 5)).points(frame, "x", "y", ds.count()).values
    grid = counts.astype(np.uint16)
    assert grid.max() > 255
    raw = len(zlib.compress(grid.tobytes(), 1))
    packed = len(zlib.compress(pack_grid(grid).data.tobytes(), 1))
    assert packed < 0.85 * raw


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (np.zeros((2, 2, 2), dtype=np.uint8), "only 2-D grids are packed; got shape (2, 2, 2)"),
        (np.zeros((2, 2), dtype=np.uint64), "cannot pack a grid of dtype uint64; expected one of ['uint8'"),
        (np.zeros((2, 2), dtype=object), "cannot pack a grid of dtype object"),
    ],
)
def test_grids_that_cannot_be_packed_are_named(grid: np.ndarray, message: str) -> None:
    with pytest.raises(PipelineError) as raised:
        pack_grid(grid)
    assert message in str(raised.value)


def test_packed_bytes_of_the_wrong_length_are_refused() -> None:
    truncated = PackedGrid(np.zeros(11, dtype=np.uint8), "uint16", 2, 3, True)
    with pytest.raises(PipelineError, match="a packed 2x3 uint16 grid needs 12 bytes; got 11"):
        unpack_grid(truncated)
