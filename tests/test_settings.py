import re
from dataclasses import fields
from pathlib import Path

import pytest

from pipeline import BACKENDS, CsvSource, PipelineError, Settings, SyntheticSource, parse_settings
from pipeline.options import OPTIONS, OPTIONS_BY_NAME, Option
from pipeline.settings import DEFAULT_ROWS, build_parser


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


SCHEDULER = "tcp://10.0.0.5:8786"


def test_every_option_of_the_table_is_on_the_parser_with_its_default_and_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps help to the terminal: keep each text on one line
    parser = build_parser()
    assert vars(parser.parse_args([])) == {option.name: option.make_default() for option in OPTIONS}
    help_output = parser.format_help()
    for option in OPTIONS:
        if option.parse is not None:
            assert f"{option.spelling} " in help_output
            assert option.help_text(option.make_default()) in help_output
        for switch in option.switches:
            assert f"{switch.spelling} " in help_output and switch.help in help_output
    assert "rows of synthetic data (default 70,000,000)" in help_output
    assert f"processes map (default {tmp_path / 'shared-frame-explorer'})" in help_output
    assert "--backend {pandas,dask}" in help_output and "--min-count K" in help_output


def test_settings_defaults_are_the_option_table_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = Settings()
    assert len(OPTIONS_BY_NAME) == len(OPTIONS)  # one row per option
    assert sorted(field.name for field in fields(Settings)) == sorted(OPTIONS_BY_NAME)
    assert {field.name: getattr(settings, field.name) for field in fields(Settings)} == {
        option.name: option.make_default() for option in OPTIONS
    }
    assert settings.cache_dir == tmp_path / "shared-frame-explorer"  # made per instance, from the environment
    assert settings.rows == DEFAULT_ROWS == 70_000_000
    # the backend registry and the option's choices name the same backends, in the same order
    assert tuple(BACKENDS) == OPTIONS_BY_NAME["backend"].choices == ("pandas", "dask")


def test_negative_switches_set_their_option() -> None:
    assert parse_settings([]).index is True
    assert parse_settings(["--no-index"]).index is False
    assert parse_settings(["--cache-dir", "/c", "--no-cache"]).cache_dir is None
    assert parse_settings(["--no-cache", "--cache-dir", "/c"]).cache_dir == Path("/c")  # the last one wins


def test_scheduler_rule_gives_its_message_from_the_command_line_and_from_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_settings(["--scheduler", SCHEDULER, "--no-cache"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: bokeh serve app --args" in err
    assert (
        "error: --scheduler needs the cache folder: the workers read the rows from it; drop --no-cache\n"
        in err
    )
    assert parse_settings(["--scheduler", SCHEDULER, "--backend", "pandas"]).backend == "dask"  # implied
    message = re.escape("a Dask scheduler needs backend='dask' and a cache folder for the workers")
    with pytest.raises(PipelineError, match=message):
        Settings(scheduler=SCHEDULER, backend="dask", cache_dir=None)
    with pytest.raises(PipelineError, match=message):
        Settings(scheduler=SCHEDULER, backend="pandas", cache_dir=tmp_path)
    assert Settings(scheduler=SCHEDULER, backend="dask", cache_dir=tmp_path).scheduler == SCHEDULER


def test_unknown_backend_in_settings_lists_the_backends() -> None:
    message = re.escape("unknown backend 'x'; expected one of ['pandas', 'dask']")
    with pytest.raises(PipelineError, match=message):
        Settings(backend="x")


def test_option_table_rows_that_could_not_be_set_are_refused() -> None:
    with pytest.raises(ValueError, match="neither a value nor a switch"):
        Option("index", None, True)
    with pytest.raises(ValueError, match="outside its choices"):
        Option("backend", str, "spark", "the backend", choices=("pandas", "dask"))
