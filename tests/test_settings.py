from pathlib import Path

import pytest

from pipeline import Settings, SyntheticSource, parse_settings
from pipeline.sources import CsvSource


def test_defaults_are_the_70m_synthetic_rows() -> None:
    settings = parse_settings([])
    assert settings == Settings()
    source = settings.make_source()
    assert isinstance(source, SyntheticSource)
    assert (source.rows, source.x, source.y) == (70_000_000, "a", "b")


def test_file_source(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("lon,lat,w\n1,2,3\n")
    settings = parse_settings(
        ["--source", str(path), "--x", "lon", "--y", "lat", "--columns", "w", "--rows", "5"]
    )
    source = settings.make_source()
    assert isinstance(source, CsvSource)
    assert source.columns == ("lon", "lat", "w")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--rows", "0"], "rows must be between 1 and 2,000,000,000, got 0"),
        (["--rows", "many"], "rows must be an integer, got 'many'"),
        (["--width", "100000"], "width must be between 16 and 4,096, got 100,000"),
    ],
)
def test_bad_options_exit_listing_the_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_settings(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "--source" in err and "--rows" in err  # the usage line lists the options


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_settings(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--source", "--x", "--y", "--rows", "--columns", "--cache-mb"):
        assert option in out


def test_cache_folder_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    assert parse_settings([]).cache_dir == tmp_path / "home-cache" / "shared-frame-explorer"
    assert parse_settings(["--cache-dir", str(tmp_path / "c")]).cache_dir == tmp_path / "c"
    assert parse_settings(["--no-cache"]).cache_dir is None


def test_backend_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_settings([]).backend == "pandas"
    assert parse_settings(["--backend", "dask"]).backend == "dask"
    on_cluster = parse_settings(["--scheduler", "tcp://10.0.0.5:8786"])
    assert (on_cluster.backend, on_cluster.scheduler) == ("dask", "tcp://10.0.0.5:8786")
    with pytest.raises(SystemExit) as exit_info:
        parse_settings(["--backend", "spark"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'spark' (choose from 'pandas', 'dask')" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_settings(["--scheduler", "tcp://10.0.0.5:8786", "--no-cache"])
    assert "--scheduler needs the cache folder" in capsys.readouterr().err


def test_min_count_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_settings([]).min_count == 0
    assert parse_settings(["--min-count", "10"]).min_count == 10
    with pytest.raises(SystemExit):
        parse_settings(["--min-count", "-1"])
    assert "min-count must be between 0 and 2,147,483,647, got -1" in capsys.readouterr().err
