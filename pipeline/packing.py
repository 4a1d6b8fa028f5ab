"""Grids rearranged so that the websocket's deflate compresses them well, and back, exactly.

An image's grid goes to the page as bytes that the connection's permessage-deflate compresses.
Deflate finds repeated byte strings, and a raw ``uint16`` count grid has few: neighbouring
counts differ a little, but their low bytes look random and sit between high bytes. Two
reversible steps fix that, with no compression of our own (the connection's deflate does it, as
for every other message, and the page can unpack synchronously):

1. for unsigned integer grids of more than one byte, each pixel becomes its difference from the
   pixel to its left (modulo 2**bits, the first pixel of a row is kept), zigzag-coded so that
   small negative differences become small numbers (0, -1, 1, -2 -> 0, 1, 2, 3);
2. for any grid of more than one byte per pixel, the bytes are regrouped by their place in the
   pixel: all lowest bytes first, then all next bytes (byte planes). The high planes of counts
   are mostly zeros.

At the full view of the default data (70M rows, 800x600, counts up to about 2,400), deflate at
level 1 makes 316 KB of the raw grid and 224 KB of the packed one. ``app/js/unpack.js`` does the
inverse in the page; :func:`unpack_grid` here is the same inverse, for Python clients and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import InvariantError, WireError

__all__ = ["PackedGrid", "pack_grid", "unpack_grid"]

# the dtypes the page can unpack: those BokehJS has arrays for
PACKABLE = ("uint8", "uint16", "uint32", "int8", "int16", "int32", "float32", "float64")
SIGNED_OF: dict[np.dtype[Any], np.dtype[Any]] = {
    np.dtype("<u2"): np.dtype("<i2"),
    np.dtype("<u4"): np.dtype("<i4"),
}


@dataclass(frozen=True)
class PackedGrid:
    """A 2-D grid as bytes: ``data`` holds ``rows * columns`` pixels of ``dtype``, in byte
    planes when ``dtype`` has more than one byte, as left differences when ``delta``."""

    data: npt.NDArray[np.uint8]
    dtype: str
    rows: int
    columns: int
    delta: bool

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


def pack_grid(grid: npt.NDArray[np.generic]) -> PackedGrid:
    """``grid`` (2-D, a dtype of ``PACKABLE``) rearranged for deflate; see the module's notes."""
    if grid.ndim != 2:
        raise InvariantError(f"only 2-D grids are packed; got shape {grid.shape}")
    dtype = grid.dtype
    if dtype.name not in PACKABLE:
        raise InvariantError(f"cannot pack a grid of dtype {dtype.name}; expected one of {list(PACKABLE)}")
    rows, columns = grid.shape
    little = dtype.newbyteorder("<")  # planes go lowest byte first, whatever the machine
    values = np.ascontiguousarray(grid, dtype=little)
    delta = little in SIGNED_OF
    if delta:
        values = _zigzag_differences(values)
    data = np.ascontiguousarray(values.view(np.uint8).reshape(-1, little.itemsize).T).reshape(-1)
    return PackedGrid(data, dtype.name, rows, columns, delta)


def unpack_grid(packed: PackedGrid) -> npt.NDArray[np.generic]:
    """The grid that :func:`pack_grid` packed, bit for bit."""
    dtype = np.dtype(packed.dtype).newbyteorder("<")
    pixels = packed.rows * packed.columns
    data = np.asarray(packed.data, dtype=np.uint8).reshape(-1)
    if data.size != pixels * dtype.itemsize:
        raise WireError(
            f"a packed {packed.rows}x{packed.columns} {packed.dtype} grid needs "
            f"{pixels * dtype.itemsize} bytes; got {data.size}"
        )
    values = np.ascontiguousarray(data.reshape(dtype.itemsize, pixels).T).view(dtype)
    grid = values.reshape(packed.rows, packed.columns)
    if packed.delta:
        grid = _from_zigzag_differences(grid)
    return grid.astype(dtype.newbyteorder("="), copy=False)  # the machine's byte order


def _zigzag_differences(values: npt.NDArray[np.unsignedinteger[Any]]) -> npt.NDArray[np.generic]:
    # in place where possible: two new arrays, not five (in the server each large array is fresh
    # pages, see memory.map_large_allocations)
    differences = np.empty_like(values)
    differences[:, 0] = values[:, 0]
    np.subtract(values[:, 1:], values[:, :-1], out=differences[:, 1:])  # wraps, as unsigned numbers do
    signed: npt.NDArray[Any] = differences.view(SIGNED_OF[values.dtype])
    sign = signed >> (values.dtype.itemsize * 8 - 1)
    np.left_shift(signed, 1, out=signed)
    np.bitwise_xor(signed, sign, out=signed)
    return differences


def _from_zigzag_differences(zigzag: npt.NDArray[Any]) -> npt.NDArray[np.generic]:
    signed = (zigzag >> 1) ^ (-(zigzag & 1).view(SIGNED_OF[zigzag.dtype])).view(zigzag.dtype)
    return np.cumsum(signed, axis=1, dtype=zigzag.dtype)
