"""The generic Great Expectations runner: per-row verdicts, reasons, and the kept result."""

from __future__ import annotations

import json
import os

import pandas as pd

from qbo_crm_sync.quality import runner
from qbo_crm_sync.quality.runner import Check, Suite, Verdicts, validate

ORDERS = Suite(
    name="orders",
    key="source_id",
    checks=(
        Check("amount: missing", "ExpectColumnValuesToNotBeNull", {"column": "amount"}),
        Check("amount: negative", "ExpectColumnValuesToBeBetween", {"column": "amount", "min_value": 0}),
        Check("code: not three letters", "ExpectColumnValuesToMatchRegex",
              {"column": "code", "regex": r"^[A-Z]{3}$"}),
    ),
)


def frame(rows: list[tuple[str | None, float | None, str | None]], **kwargs: object) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source_id", "amount", "code"], **kwargs)  # type: ignore[call-overload]


def reasons(verdicts: Verdicts) -> dict[str, str]:
    return dict(zip(verdicts.rejected["source_id"], verdicts.rejected["reason"], strict=True))


def test_rows_that_meet_every_check_pass_with_their_columns_and_index() -> None:
    df = frame([("a", 1.0, "USD"), ("b", 2.5, "EUR")], index=[7, 9])
    df["payload"] = [{"x": 1}, {"x": 2}]
    verdicts = validate(df, ORDERS)
    assert verdicts.success is True
    assert verdicts.rejected.empty and list(verdicts.rejected.columns) == ["source_id", "reason"]
    pd.testing.assert_frame_equal(verdicts.passed, df)


def test_each_rejected_row_names_every_check_it_failed_in_suite_order() -> None:
    df = frame([("ok", 1.0, "USD"), ("neg", -1.0, "USD"), ("both", -2.0, "usd"), ("none", None, None),
                ("code", 3.0, "DOLLARS")])
    verdicts = validate(df, ORDERS)
    assert verdicts.success is False
    assert list(verdicts.passed["source_id"]) == ["ok"]
    assert reasons(verdicts) == {
        "neg": "amount: negative",
        "both": "amount: negative; code: not three letters",
        "none": "amount: missing",
        "code": "code: not three letters",
    }
    assert len(verdicts.passed) + len(verdicts.rejected) == len(df)


def test_rows_are_told_apart_by_position_not_by_key() -> None:
    df = frame([("same", 1.0, "USD"), ("same", -1.0, "USD"), (None, 1.0, "bad")])
    verdicts = validate(df, ORDERS)
    assert list(verdicts.passed.index) == [0]
    assert list(verdicts.rejected["reason"]) == ["amount: negative", "code: not three letters"]
    assert verdicts.rejected["source_id"].iloc[0] == "same" and pd.isna(verdicts.rejected["source_id"].iloc[1])


def test_a_check_that_cannot_run_rejects_every_row_and_says_why() -> None:
    df = frame([("a", 1.0, "USD"), ("b", 2.0, "EUR")]).drop(columns=["code"])
    verdicts = validate(df, ORDERS)
    assert verdicts.passed.empty
    assert set(reasons(verdicts).values()) == {"code: not three letters"}
    failed = [entry for entry in verdicts.result["results"] if not entry["success"]]
    assert [entry["label"] for entry in failed] == ["code: not three letters"]
    assert "code" in failed[0]["exception"]


def test_derived_columns_feed_checks_without_changing_the_input() -> None:
    suite = Suite(
        name="pairs",
        checks=(Check("no contact", "ExpectColumnValuesToBeInSet", {"column": "reachable", "value_set": [True]}),),
        derive=lambda df: {"reachable": df["email"].notna() | df["phone"].notna()},
    )
    df = pd.DataFrame({"source_id": ["1", "2", "3"], "email": ["a@b.co", None, None], "phone": [None, "+1", None]})
    verdicts = validate(df, suite)
    assert reasons(verdicts) == {"3": "no contact"}
    assert list(verdicts.passed.columns) == ["source_id", "email", "phone"]


def test_result_is_json_and_small_with_counts_per_check() -> None:
    df = frame([(str(i), -1.0 if i % 2 else 1.0, "USD") for i in range(2000)])
    verdicts = validate(df, ORDERS)
    text = json.dumps(verdicts.result)
    assert len(text) < 10_000  # no per-row lists, whatever the batch size
    assert verdicts.result["suite"] == "orders" and verdicts.result["rows"] == 2000
    assert verdicts.result["success"] is False
    assert verdicts.result["statistics"]["evaluated_expectations"] == 3
    negative = next(entry for entry in verdicts.result["results"] if entry["label"] == "amount: negative")
    assert negative["result"]["unexpected_count"] == 1000
    assert negative["expectation"] == "expect_column_values_to_be_between"
    assert negative["kwargs"] == {"column": "amount", "min_value": 0}


def test_empty_frame_passes_trivially() -> None:
    verdicts = validate(frame([]), ORDERS)
    assert verdicts.passed.empty and verdicts.rejected.empty


def test_context_and_definitions_are_built_once_and_analytics_are_off() -> None:
    validate(frame([("a", 1.0, "USD")]), ORDERS)
    context, definitions = runner._CONTEXT, dict(runner._DEFINITIONS)
    validate(frame([("b", -1.0, "USD")]), ORDERS)
    assert runner._CONTEXT is context and runner._DEFINITIONS == definitions
    assert os.environ["GX_ANALYTICS_ENABLED"].lower() == "false"
