"""Join the export tables into one long table: one row per response and selectable unit."""

from __future__ import annotations

import numpy as np
import pandas as pd

RESPONSE = ["participant_id", "task_id"]
COLUMNS = ["participant_id", "task_id", "unit_index", "text", "category", "group", "selected", "in_rationale"]


def _codes(values: pd.Series, categories: pd.Index | None = None) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of ``values`` (-1 for missing) and the values they stand for, reusing categorical codes."""
    if isinstance(values.dtype, pd.CategoricalDtype) and (
        categories is None or values.cat.categories.equals(categories)
    ):
        return values.cat.codes.to_numpy().astype(np.int64), values.cat.categories
    if categories is None:
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), pd.Index(uniques)
    return categories.get_indexer(values).astype(np.int64), categories


def response_grid(selections: pd.DataFrame, units: pd.DataFrame, keep_empty: bool = False) -> pd.DataFrame:
    """One row per response and selectable unit of its task: the human's choice on every unit they could select.

    Parameters
    ----------
    selections : pandas.DataFrame
        ``participant_id, task_id, unit_index, selected``, at most one row per (participant, task,
        unit) as the export schema's primary key says. A response is a (participant_id, task_id)
        pair present here; a selectable unit without a row counts as not selected.
    units : pandas.DataFrame
        ``task_id, unit_index, selectable`` and any further unit columns, which are carried along.
    keep_empty : bool
        Keep a response whose task has no selectable unit as one row with missing unit fields and
        ``selected = 0`` (by default it has no row).

    Returns
    -------
    pandas.DataFrame
        ``participant_id, task_id`` and the columns of ``units`` but ``selectable``, then ``selected``
        (int8): responses in order of first appearance, each one's units in the order of ``units``.
        This is the row order of ``responses.merge(selectable, on="task_id").merge(selections, how="left")``,
        computed on integer codes instead: the joins on string keys were most of a report's time.
    """
    selectable = units.loc[units["selectable"] == 1].drop(columns="selectable").reset_index(drop=True)
    task, tasks = _codes(selections["task_id"])
    person, _ = _codes(selections["participant_id"])
    # a response's code in order of first appearance, as drop_duplicates orders the responses
    response, _ = pd.factorize(person * (len(tasks) + 1) + task)
    first = np.unique(response, return_index=True)[1]
    responses = selections[RESPONSE].iloc[first].reset_index(drop=True)

    # each response's units: the selectable rows of its task, in the units' order
    unit_task, _ = _codes(selectable["task_id"], tasks)
    known = unit_task >= 0
    order = np.flatnonzero(known)[np.argsort(unit_task[known], kind="stable")]
    counts = np.bincount(unit_task[known], minlength=len(tasks))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_units = np.where(task[first] >= 0, counts[task[first]], 0)
    rows_each = np.maximum(n_units, 1) if keep_empty else n_units
    of_response = np.repeat(np.arange(len(first)), rows_each)
    within = np.arange(len(of_response)) - np.repeat(np.cumsum(rows_each) - rows_each, rows_each)
    has_unit = within < n_units[of_response]
    unit_row = np.where(has_unit, order[np.minimum(starts[task[first]][of_response] + within, len(order) - 1)], -1)

    data = responses.iloc[of_response].reset_index(drop=True)
    unit_part = selectable.drop(columns="task_id")
    if has_unit.all():
        unit_part = unit_part.iloc[unit_row].reset_index(drop=True)
    else:
        unit_part = unit_part.reindex(unit_row).reset_index(drop=True)
    data[unit_part.columns] = unit_part

    # selected: look each (response, unit) up among the selection rows by one int64 key
    width = int(np.nanmax([selections["unit_index"].max(), selectable["unit_index"].max(), 0])) + 1
    sel_key = response * width + selections["unit_index"].to_numpy(dtype=np.int64)
    grid_unit = data["unit_index"].to_numpy(dtype=float, na_value=np.nan)
    grid_key = np.where(has_unit, of_response * width + np.nan_to_num(grid_unit, nan=0).astype(np.int64), -1)
    sorted_keys = np.argsort(sel_key, kind="stable")
    at = np.minimum(np.searchsorted(sel_key[sorted_keys], grid_key), max(len(sel_key) - 1, 0))
    found = (sel_key[sorted_keys][at] == grid_key) if len(sel_key) else np.zeros(len(grid_key), dtype=bool)
    selected = np.zeros(len(data), dtype=np.int8)
    selected[found] = selections["selected"].to_numpy()[sorted_keys[at[found]]]
    data["selected"] = selected
    return data


def response_units(selections: pd.DataFrame, units: pd.DataFrame, model_rationales: pd.DataFrame) -> pd.DataFrame:
    """Put the human's and the model's choice side by side for every selectable unit of every response.

    Parameters
    ----------
    selections : pandas.DataFrame
        ``participant_id, task_id, unit_index, selected``. A response is a (participant_id, task_id)
        pair present here; a selectable unit without a row counts as not selected.
    units : pandas.DataFrame
        ``task_id, unit_index, text, category, group, selectable``.
    model_rationales : pandas.DataFrame
        ``task_id, unit_index, in_rationale``; a unit without a row is not in the rationale.
        Rationale units outside the selectable range are ignored: both raters are compared on the
        units a participant could select.

    Returns
    -------
    pandas.DataFrame
        ``participant_id, task_id, unit_index, text, category, group, selected, in_rationale``
        (0/1 ints). A response whose task has no selectable unit keeps one row with missing unit
        fields and ``selected = in_rationale = 0``, so it is reported rather than lost.
    """
    selectable = units.loc[units["selectable"] == 1, [*COLUMNS[1:6], "selectable"]]
    selectable = selectable.merge(
        model_rationales[["task_id", "unit_index", "in_rationale"]], on=["task_id", "unit_index"], how="left"
    )
    data = response_grid(selections, selectable, keep_empty=True)
    data["in_rationale"] = data["in_rationale"].fillna(0).astype("int8")
    data["unit_index"] = data["unit_index"].astype("Int64")
    return data[COLUMNS]
