"""Validate a DataFrame with a Great Expectations suite and split it into passed and rejected rows.

A ``Suite`` is plain data (expectation class names and kwargs, each with a readable label), so
defining one costs nothing at import time; Great Expectations itself is imported, and its
ephemeral context built, once per process on the first ``validate`` call.

Per-row verdicts come from GE's COMPLETE result format over a frame with a plain RangeIndex, so
``unexpected_index_list`` holds row positions: duplicate or missing keys never blur which row
failed. GE sees only the columns the suite names, never payload dicts.

Why positions and not ``unexpected_index_column_names=["source_id"]``: GE builds that list with one
``DataFrame.at`` lookup per failing row and column, then deep-copies it. Measured on 2 cores with
the 12-check contacts suite over 100,000 rows, half of them failing five checks: about 20 s that
way, about 2.5 s with positions (0.6 s for SUMMARY, which names no rows). A clean 100,000-row batch
takes about 1-2 s; GE's import (about 6 s) is paid once per process.

Large batches (a backfill's chunks) take a cheaper path to the same verdicts: the checks this
runner knows (not null, unique, in set, regex, length) are first computed column-wise with GE's own
pandas semantics (nulls skipped except by "not null"), then GE validates every row those flag plus a
spread sample of the rest. GE's answer on that subset must agree row for row and check for check;
the reasons come from GE's labels as always. Should GE disagree anywhere, or a suite use an
expectation the prefilter does not know, the whole batch goes to GE as before.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

REASON_SEPARATOR = "; "
# From this many rows on, a batch is prefiltered (see the module docstring) ...
PREFILTER_FROM = 5_000
# ... and GE also judges this many of the rows the prefilter passed, spread over the batch.
SAMPLE_PASSING = 1_000
# Kept in the stored result for each failed expectation: enough to see what went wrong.
PARTIAL_UNEXPECTED_COUNT = 20
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


@dataclass(frozen=True)
class Check:
    """One expectation and the reason a failing row is given, e.g. "email: not a valid email address".

    ``expectation`` names a class in ``great_expectations.expectations``
    (e.g. ``"ExpectColumnValuesToNotBeNull"``); ``kwargs`` are its arguments.
    """

    label: str
    expectation: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def columns(self) -> list[str]:
        named = [self.kwargs[key] for key in _COLUMN_KWARGS if key in self.kwargs]
        for key in _COLUMN_LIST_KWARGS:
            named.extend(self.kwargs.get(key, ()))
        return named


@dataclass(frozen=True)
class Suite:
    """A named list of checks over a frame keyed by ``key``.

    ``derive`` may add columns computed from the input (for rules spanning several columns); it
    returns them by name and must not change the input.
    """

    name: str
    checks: tuple[Check, ...]
    key: str = "source_id"
    derive: Callable[[pd.DataFrame], Mapping[str, pd.Series]] | None = None


@dataclass
class Verdicts:
    """``passed``: the input rows that met every check (input columns and index kept).
    ``rejected``: one row per failing input row: the key (``source_id``) and ``reason``, every
    failed check's label joined by "; " in suite order.
    ``result``: JSON-serialisable summary of the GE run, fit to keep per run.
    """

    passed: pd.DataFrame
    rejected: pd.DataFrame
    result: dict[str, Any]
    success: bool


def validate(df: pd.DataFrame, suite: Suite) -> Verdicts:
    frame = _frame_for(df, suite)
    native = _native_failing(frame, suite) if len(df) >= PREFILTER_FROM else None
    if native is not None:
        checked = _prefiltered(df, frame, suite, native)
        if checked is not None:
            return checked
    run = _run(frame, suite)
    failing = _failing_rows(run, suite, len(df))
    return _verdicts(df, suite, run, failing)


def _run(frame: pd.DataFrame, suite: Suite) -> Any:
    with _LOCK:
        definition = _definition_for(suite)
        return definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "COMPLETE",
                "return_unexpected_index_query": False,
                "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
            },
        )


def _prefiltered(df: pd.DataFrame, frame: pd.DataFrame, suite: Suite,
                 native: dict[str, np.ndarray]) -> Verdicts | None:
    """GE on the rows the column-wise checks flag plus a sample of the others; None when GE's
    verdicts on them differ from the column-wise ones (the caller then asks GE about every row)."""
    flagged = np.zeros(len(df), dtype=bool)
    for mask in native.values():
        flagged |= mask
    passing = np.flatnonzero(~flagged)
    step = max(len(passing) // SAMPLE_PASSING, 1)
    subset = np.union1d(np.flatnonzero(flagged), passing[::step][:SAMPLE_PASSING])
    run = _run(frame.iloc[subset].reset_index(drop=True), suite)
    judged = _failing_rows(run, suite, len(subset))
    expected = {label: mask[subset] for label, mask in native.items() if mask[subset].any()}
    if judged.keys() != expected.keys() or any(not np.array_equal(judged[k], expected[k]) for k in judged):
        differing = sorted(set(judged) ^ set(expected) | {k for k in set(judged) & set(expected)
                                                           if not np.array_equal(judged[k], expected[k])})
        log.warning("Column-wise checks and Great Expectations disagree on %s: validating all %d rows with "
                    "Great Expectations", ", ".join(differing), len(df))
        return None
    failing = {label: native[label] for label in judged}
    verdicts = _verdicts(df, suite, run, failing)
    verdicts.result.update(rows=len(df), great_expectations_rows=len(subset),
                           prefiltered=True, success=not any(m.any() for m in failing.values()))
    return verdicts


def _native_failing(frame: pd.DataFrame, suite: Suite) -> dict[str, np.ndarray] | None:
    """label → rows failing it, computed column-wise as GE's pandas engine computes each check; None
    when a check is of a kind not covered here or names a column the frame lacks."""
    failing: dict[str, np.ndarray] = {}
    for check in suite.checks:
        column = check.kwargs.get("column")
        if column is None or column not in frame.columns or set(check.kwargs) - _NATIVE_KWARGS.get(check.expectation,
                                                                                                    set()):
            return None
        values = frame[column]
        present = values.notna().to_numpy()
        if check.expectation == "ExpectColumnValuesToNotBeNull":
            mask = ~present
        elif check.expectation == "ExpectColumnValuesToBeUnique":
            mask = present & values.where(present).duplicated(keep=False).to_numpy()
        elif check.expectation == "ExpectColumnValuesToBeInSet":
            mask = present & ~values.isin(list(check.kwargs["value_set"])).to_numpy()
        elif check.expectation == "ExpectColumnValuesToMatchRegex":
            text = values[present].astype(str)
            mask = present.copy()
            mask[present] = ~text.str.contains(check.kwargs["regex"], regex=True).to_numpy(dtype=bool)
        else:  # ExpectColumnValueLengthsToBeBetween
            lengths = values[present].astype(str).str.len().to_numpy()
            low, high = check.kwargs.get("min_value"), check.kwargs.get("max_value")
            bad = np.zeros(len(lengths), dtype=bool)
            if low is not None:
                bad |= lengths < low
            if high is not None:
                bad |= lengths > high
            mask = np.zeros(len(values), dtype=bool)
            mask[present] = bad
        failing[check.label] = failing.get(check.label, np.zeros(len(frame), dtype=bool)) | mask
    return failing


_NATIVE_KWARGS = {
    "ExpectColumnValuesToNotBeNull": {"column"},
    "ExpectColumnValuesToBeUnique": {"column"},
    "ExpectColumnValuesToBeInSet": {"column", "value_set"},
    "ExpectColumnValuesToMatchRegex": {"column", "regex"},
    "ExpectColumnValueLengthsToBeBetween": {"column", "min_value", "max_value"},
}


def _frame_for(df: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """The columns the checks name (those present) and derived columns, on a RangeIndex."""
    columns: dict[str, Any] = {}
    derived = dict(suite.derive(df)) if suite.derive else {}
    for check in suite.checks:
        for column in check.columns():
            if column in derived:
                columns[column] = pd.Series(derived[column]).to_numpy()
            elif column in df.columns:
                columns[column] = df[column].to_numpy()
    return pd.DataFrame(columns, index=pd.RangeIndex(len(df)))


def _failing_rows(run: Any, suite: Suite, n_rows: int) -> dict[str, np.ndarray]:
    """label → boolean mask of the rows that failed it, for every failed check."""
    failing: dict[str, np.ndarray] = {}
    for outcome in run.results:
        if outcome.success:
            continue
        label = outcome.expectation_config.meta.get("label") or outcome.expectation_config.type
        mask = failing.setdefault(label, np.zeros(n_rows, dtype=bool))
        indices = (outcome.result or {}).get("unexpected_index_list")
        if indices is None:
            # Table-level failure or an error (e.g. a missing column): no row can pass it.
            mask[:] = True
        else:
            mask[np.asarray(indices, dtype=np.int64)] = True
    # Keep the suite's order so reasons read the same on every run.
    order = {check.label: position for position, check in enumerate(suite.checks)}
    return dict(sorted(failing.items(), key=lambda item: order.get(item[0], len(order))))


def _verdicts(df: pd.DataFrame, suite: Suite, run: Any, failing: dict[str, np.ndarray]) -> Verdicts:
    n_rows = len(df)
    rejected_mask = np.zeros(n_rows, dtype=bool)
    reasons = np.full(n_rows, "", dtype=object)
    for label, mask in failing.items():
        reasons[mask & rejected_mask] += REASON_SEPARATOR
        reasons[mask] += label
        rejected_mask |= mask
    positions = np.flatnonzero(rejected_mask)
    if suite.key in df.columns:
        keys = df[suite.key].iloc[positions].reset_index(drop=True)
    else:
        keys = pd.Series([None] * len(positions), dtype=object)
    rejected = pd.DataFrame({suite.key: keys, "reason": pd.Series(reasons[positions], dtype="str")})
    return Verdicts(
        passed=df.loc[~rejected_mask],
        rejected=rejected,
        result=_summary(run, suite, n_rows),
        success=bool(run.success) and not rejected_mask.any(),
    )


def _summary(run: Any, suite: Suite, n_rows: int) -> dict[str, Any]:
    """The GE result without its per-row lists, which can be as long as the batch."""
    from great_expectations.util import convert_to_json_serializable

    kept = (
        "element_count",
        "missing_count",
        "unexpected_count",
        "unexpected_percent",
        "partial_unexpected_list",
        "partial_unexpected_counts",
        "observed_value",
    )
    order = {check.label: position for position, check in enumerate(suite.checks)}
    outcomes = sorted(run.results, key=lambda outcome: order.get(outcome.expectation_config.meta.get("label"), 0))
    results = []
    for outcome in outcomes:
        config = outcome.expectation_config
        entry: dict[str, Any] = {
            "label": config.meta.get("label"),
            "expectation": config.type,
            "kwargs": {key: value for key, value in config.kwargs.items() if key != "batch_id"},
            "success": outcome.success,
            "result": {key: value for key, value in (outcome.result or {}).items() if key in kept},
        }
        raised = (outcome.exception_info or {}).get("exception_message")
        if raised is None:
            raised = next(
                (
                    info.get("exception_message")
                    for info in (outcome.exception_info or {}).values()
                    if isinstance(info, dict) and info.get("raised_exception")
                ),
                None,
            )
        if raised:
            entry["exception"] = raised
        results.append(entry)
    return convert_to_json_serializable(
        {
            "suite": suite.name,
            "rows": n_rows,
            "success": run.success,
            "statistics": run.statistics,
            "results": results,
            "great_expectations_version": (run.meta or {}).get("great_expectations_version"),
        }
    )


_LOCK = threading.RLock()
_CONTEXT: Any = None
_DEFINITIONS: dict[int, tuple[Suite, Any]] = {}


def _context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        # Must be set before GE is imported: it reads the variable at import and on context creation.
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.data_sources.add_pandas("frames")
        _CONTEXT = context
    return _CONTEXT


def _definition_for(suite: Suite) -> Any:
    """The ValidationDefinition for ``suite``, built on first use and kept for the process."""
    cached = _DEFINITIONS.get(id(suite))
    if cached is not None and cached[0] is suite:
        return cached[1]
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = _context()
    # Two Suite objects may share a name (tests); GE names must be unique within the context.
    name = f"{suite.name}-{len(_DEFINITIONS)}"
    asset = context.data_sources.get("frames").add_dataframe_asset(name=name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    expectations = gx.ExpectationSuite(name=name)
    for check in suite.checks:
        expectation_class = getattr(gxe, check.expectation)
        expectations.add_expectation(expectation_class(**check.kwargs, meta={"label": check.label}))
    expectations = context.suites.add(expectations)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=expectations, name=name)
    )
    # Holding the Suite keeps its id from being reused by another object.
    _DEFINITIONS[id(suite)] = (suite, definition)
    return definition
