"""In-memory tables (the study dashboard's path) give what an export folder gives (the report's path)."""

from __future__ import annotations

import pandas as pd
import pytest
from export_files import write_export

from analysis.breakdown import agreement_tables
from analysis.io import ExportError, export_from_tables, load_export


def test_tables_in_memory_and_on_disk_agree(tmp_path, random_tables):
    participants = pd.DataFrame({"participant_id": ["p00", "p01", "p02"], "excluded": [1, 0, 0]})
    tables = {**random_tables, "participants": participants}
    from_disk = agreement_tables(load_export(write_export(tmp_path / "export", tables)), n_boot=200, seed=4)
    in_memory = agreement_tables(export_from_tables(tables), n_boot=200, seed=4)
    for name in ("alignment", "alignment_summary", "task_agreement", "participant_agreement"):
        pd.testing.assert_frame_equal(
            in_memory[name].astype({c: "str" for c in ("participant_id", "task_id") if c in in_memory[name]}),
            from_disk[name].astype({c: "str" for c in ("participant_id", "task_id") if c in from_disk[name]}),
            check_dtype=False,
        )
    assert "p00" not in set(in_memory["alignment"]["participant_id"].astype(str))
    assert tables["participants"] is participants and len(participants) == 3  # the caller's frames are not changed


def test_tables_in_memory_are_validated(hand_tables):
    hand_tables["selections"].loc[3, "selected"] = 7
    with pytest.raises(ExportError, match="^selections: column 'selected', row 4: value 7 is not 0 or 1$"):
        export_from_tables(hand_tables)
    with pytest.raises(ExportError, match="no units table"):
        export_from_tables({k: v for k, v in hand_tables.items() if k != "units"})
