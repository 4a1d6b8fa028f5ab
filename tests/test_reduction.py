import pandas as pd
import pytest

from pipeline import Reduction, ReductionError

SCHEMA = pd.DataFrame({"x": [1.0], "y": [2.0], "value": [3], "label": ["a"], "flag": [True]}).dtypes


def test_unknown_reduction_lists_the_valid_ones() -> None:
    with pytest.raises(
        ReductionError,
        match=r"unknown reduction 'median'; expected one of "
        r"\['count', 'count_by', 'max', 'mean', 'min', 'std', 'sum'\]",
    ):
        Reduction("median", "value")


def test_column_reductions_need_a_column() -> None:
    with pytest.raises(ReductionError, match="reduction 'sum' needs a numeric column"):
        Reduction("sum")


def test_count_takes_no_column() -> None:
    with pytest.raises(ReductionError, match="reduction 'count' takes no column, got column='value'"):
        Reduction("count", "value")


def test_unknown_column_names_the_numeric_ones() -> None:
    with pytest.raises(
        ReductionError, match=r"unknown column 'price' .* numeric columns are \['x', 'y', 'value'\]"
    ):
        Reduction("mean", "price").validate(SCHEMA)


@pytest.mark.parametrize("column", ["label", "flag"])
def test_non_numeric_column_is_refused(column: str) -> None:
    with pytest.raises(ReductionError, match=f"column '{column}' has dtype .*, not numeric"):
        Reduction("max", column).validate(SCHEMA)


def test_str() -> None:
    assert str(Reduction()) == "count"
    assert str(Reduction("mean", "value")) == "mean(value)"


def test_count_by_needs_a_categorical_column() -> None:
    schema = pd.DataFrame(
        {"x": [1.0], "value": [2.0], "kind": pd.Categorical(["p"]), "label": ["text"]}
    ).dtypes
    with pytest.raises(ReductionError, match="reduction 'count_by' needs a categorical column"):
        Reduction("count_by")
    for column in ("value", "label", "missing"):
        with pytest.raises(
            ReductionError,
            match=f"column '{column}' for reduction 'count_by' is not categorical; "
            r"categorical columns are \['kind'\]",
        ):
            Reduction("count_by", column).validate(schema)
    Reduction("count_by", "kind").validate(schema)
    assert str(Reduction("count_by", "kind")) == "count_by(kind)"
