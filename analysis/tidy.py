"""Join the export tables into one long table: one row per response and selectable unit."""

from __future__ import annotations

import pandas as pd

COLUMNS = ["participant_id", "task_id", "unit_index", "text", "category", "group", "selected", "in_rationale"]


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
    selectable = units.loc[units["selectable"] == 1, COLUMNS[1:6]]
    selectable = selectable.merge(
        model_rationales[["task_id", "unit_index", "in_rationale"]], on=["task_id", "unit_index"], how="left"
    )
    responses = selections[["participant_id", "task_id"]].drop_duplicates()
    data = responses.merge(selectable, on="task_id", how="left")
    data = data.merge(
        selections[["participant_id", "task_id", "unit_index", "selected"]],
        on=["participant_id", "task_id", "unit_index"],
        how="left",
    )
    data["selected"] = data["selected"].fillna(0).astype("int8")
    data["in_rationale"] = data["in_rationale"].fillna(0).astype("int8")
    data["unit_index"] = data["unit_index"].astype("Int64")
    return data[COLUMNS]
