from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import SYNTHETIC_CATEGORIES, ColumnError, SourceError, SyntheticSource, open_source


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_synthetic_is_reproducible_and_standard_normal() -> None:
    first = SyntheticSource(rows=300_000, seed=3).load()
    again = SyntheticSource(rows=300_000, seed=3, threads=1).load()
    other = SyntheticSource(rows=300_000, seed=4).load()
    pd.testing.assert_frame_equal(first, again)
    assert not np.array_equal(first["a"], other["a"])
    assert list(first.columns) == ["a", "b", "value", "category"]
    assert first["a"].dtype == np.float64 and first["value"].dtype == np.float32
    for name in ("a", "b"):
        assert abs(first[name].mean()) < 0.01
        assert abs(first[name].std() - 1) < 0.01
    assert list(first["category"].cat.categories) == ["east", "north", "west", "south", "centre"]


def test_synthetic_categories_are_the_compass_sectors_and_the_centre() -> None:
    from pipeline.sources import compass_codes

    a = np.array([2.0, 0.0, -2.0, 0.0, 0.1, 1.0, -1.0, 0.4, 0.5])
    b = np.array([0.0, 2.0, 0.0, -2.0, 0.1, 0.9, -1.1, 0.0, 0.0])
    labels = [SYNTHETIC_CATEGORIES[code] for code in compass_codes(a, b)]
    assert labels == ["east", "north", "west", "south", "centre", "east", "south", "centre", "east"]
    frame = SyntheticSource(rows=5_000).load()
    north = frame["category"] == "north"
    assert (frame["b"][north] > frame["a"][north].abs()).all()


def test_synthetic_reports_progress() -> None:
    seen: list[tuple[int, float]] = []
    SyntheticSource(rows=3_000_000, seed=0).load(lambda rows, fraction: seen.append((rows, fraction)))
    assert seen[-1] == (3_000_000, 1.0)
    assert [rows for rows, _ in seen] == sorted(rows for rows, _ in seen)


def test_csv_reads_only_the_asked_columns_as_float(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "points.csv", "x,y,label,w\n1,2,a,0.5\n3,4.5,b,1.5\n,nan,c,2\n")
    frame = open_source(path, x="x", y="y", extra_columns=["w"]).load()
    assert list(frame.columns) == ["x", "y", "w"]
    assert frame["x"].dtype == np.float64
    np.testing.assert_array_equal(frame["y"], [2.0, 4.5, np.nan])


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "points.parquet"
    pd.DataFrame({"lon": [1.0, 2.0], "lat": [3, 4], "other": ["p", "q"]}).to_parquet(path, row_group_size=1)
    progress: list[float] = []
    frame = open_source(path, x="lon", y="lat").load(lambda rows, fraction: progress.append(fraction))
    assert list(frame.columns) == ["lon", "lat"]
    assert frame["lat"].dtype == np.float64
    assert progress == [0.5, 1.0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"source file '.*nowhere.csv' does not exist"):
        open_source(tmp_path / "nowhere.csv", x="x", y="y")


def test_unknown_suffix(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "points.txt", "x,y\n1,2\n")
    with pytest.raises(SourceError, match=r"cannot tell the format .* expected a name ending in one of"):
        open_source(path, x="x", y="y")


def test_unknown_column_names_those_that_exist(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "points.csv", "lon,lat\n1,2\n")
    with pytest.raises(ColumnError, match=r"column 'x' not found in .*; columns are \['lon', 'lat'\]"):
        open_source(path, x="x", y="lat").load()


def test_non_numeric_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "points.csv", "x,y\n1,north\n2,south\n")
    with pytest.raises(ColumnError, match=r"column 'y' .* is not numeric .*'north', 'south'"):
        open_source(path, x="x", y="y").load()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,y\n", "holds no rows"),
        ("", "is not a readable CSV file"),
        ("x,y\n1,2\n3,4,5\n", "CSV parse error: Expected 2 columns, got 3"),
    ],
)
def test_empty_or_malformed_csv(tmp_path: Path, text: str, message: str) -> None:
    path = write_csv(tmp_path / "points.csv", text)
    with pytest.raises(SourceError, match=message):
        open_source(path, x="x", y="y").load()


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "points.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(SourceError, match="is not a readable Parquet file"):
        open_source(path, x="x", y="y").load()


@pytest.mark.parametrize("name", ["points.csv", "points.csv.gz"])
def test_csv_of_many_blocks_reads_every_row_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr("pipeline.sources.CSV_BLOCK_BYTES", 1 << 14)  # hundreds of blocks
    rng = np.random.default_rng(3)
    written = pd.DataFrame({"x": rng.standard_normal(50_000), "y": rng.standard_normal(50_000)})
    written["w"] = np.arange(50_000, dtype=np.int64)
    path = tmp_path / name
    written.to_csv(path, index=False, float_format="%.17g")
    seen: list[float] = []
    frame = open_source(path, x="x", y="y", extra_columns=["w"]).load(lambda rows, part: seen.append(part))
    pd.testing.assert_frame_equal(frame, written)
    assert len(seen) > 10 and seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_found_in_the_first_lines(tmp_path: Path, delimiter: str) -> None:
    lines = ["x,y,name".replace(",", delimiter), *(f"{i}{delimiter}{2 * i}{delimiter}p{i}" for i in range(5))]
    path = write_csv(tmp_path / "points.csv", "\n".join(lines) + "\n")
    frame = open_source(path, x="x", y="y", extra_columns=["name"]).load()
    np.testing.assert_array_equal(frame["y"], [0.0, 2.0, 4.0, 6.0, 8.0])
    assert list(frame["name"]) == [f"p{i}" for i in range(5)]


def test_a_given_delimiter_wins(tmp_path: Path) -> None:
    # a comma inside the values would make a guess waver: the option says what it is
    path = write_csv(tmp_path / "points.csv", "x;y;note\n1;2;a,b\n3;4;c,d\n")
    frame = open_source(path, x="x", y="y", extra_columns=["note"], delimiter=";").load()
    assert list(frame["note"]) == ["a,b", "c,d"]


def test_zstd_compressed_csv(tmp_path: Path) -> None:
    import pyarrow as pa

    path = tmp_path / "points.csv.zst"
    with pa.CompressedOutputStream(str(path), "zstd") as out:
        out.write(b"x,y,w\n1,2,0.5\n3,4,1.5\n")
    frame = open_source(path, x="x", y="y", extra_columns=["w"]).load()
    np.testing.assert_array_equal(frame["w"], [0.5, 1.5])


def test_arrow_ipc_file_with_text_and_missing_values(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather

    from pipeline.column_types import MISSING_LEVEL

    path = tmp_path / "points.feather"
    table = pa.table({"x": [1.0, 2.0, None], "y": [1, 2, 3], "kind": ["p", None, "q"]})
    feather.write_feather(table, str(path), chunksize=2)  # two record batches
    progress: list[float] = []
    frame = open_source(path, x="x", y="y", extra_columns=["kind"]).load(lambda r, f: progress.append(f))
    assert progress == [0.5, 1.0]
    np.testing.assert_array_equal(frame["x"], [1.0, 2.0, np.nan])
    assert list(frame["kind"]) == ["p", MISSING_LEVEL, "q"]


def test_a_hive_partitioned_parquet_folder_is_one_table_with_its_keys_as_categories(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    parts = []
    for carrier in ("AA", "UA"):
        for year in (2024, 2025):
            folder = tmp_path / "flights" / f"carrier={carrier}" / f"year={year}"
            folder.mkdir(parents=True)
            part = pd.DataFrame({"lon": rng.normal(0, 1, 50), "lat": rng.normal(0, 1, 50)})
            part.to_parquet(folder / "part-0.parquet", row_group_size=20)
            parts.append(part.assign(carrier=carrier, year=year))
    progress: list[float] = []
    source = open_source(tmp_path / "flights", x="lon", y="lat", extra_columns=["carrier", "year"])
    frame = source.load(lambda rows, fraction: progress.append(fraction))
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert len(frame) == 200 and list(frame["carrier"].cat.categories) == ["AA", "UA"]
    want = pd.concat(parts, ignore_index=True)
    got = frame.sort_values(["carrier", "year", "lon"]).reset_index(drop=True)
    want = want.sort_values(["carrier", "year", "lon"]).reset_index(drop=True)
    np.testing.assert_array_equal(got["lon"], want["lon"])
    np.testing.assert_array_equal(got["year"], want["year"])
    assert list(got["carrier"].astype(str)) == list(want["carrier"])


def test_a_glob_of_parquet_files_whose_types_disagree_is_named(tmp_path: Path) -> None:
    pd.DataFrame({"x": [1.0], "y": [2.0], "w": [1.5]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"x": [1.0], "y": [2.0], "w": ["heavy"]}).to_parquet(tmp_path / "b.parquet")
    source = open_source(tmp_path / "*.parquet", x="x", y="y", extra_columns=["w"])
    with pytest.raises(SourceError, match=r"could not be read as one table"):
        source.load()
    with pytest.raises(SourceError, match=r"no Parquet file in '.*nothing-\*\.parquet'"):
        open_source(tmp_path / "nothing-*.parquet", x="x", y="y")


BAD_FILES = [
    ("empty.csv", b"", {}, r"its first line \(the header\) is empty"),
    ("header.csv", b"x,y,w\n", {}, r"holds no rows"),
    (
        "semicolons.csv",
        b"x;y;w\n1;2;3\n4;5;6\n",
        {"delimiter": ","},
        r"columns are \['x;y;w'\]; the header is one column: is the delimiter ';'\? \(--delimiter\)",
    ),
    ("latin1.csv", b"x,y,w\n1,2,3\n4,\xff\xfe,6\n", {}, r"line 3 is not UTF-8 text \(byte 0xff at byte 14"),
    ("blank.csv", b"x,y,w\n1,2,\n3,4,\n", {}, r"column 'w' of .* is empty in every one of its 2 rows"),
    ("missing.csv", b"x,y,v\n1,2,3\n", {}, r"column 'w' not found in .*; columns are \['x', 'y', 'v'\]$"),
]


@pytest.mark.parametrize(("name", "content", "options", "message"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_files_are_answered_with_what_is_wrong(
    tmp_path: Path, name: str, content: bytes, options: dict[str, str], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        open_source(path, x="x", y="y", extra_columns=["w"], **options).load()
