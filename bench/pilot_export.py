"""A real export of the pilot, answered by simulated participants, and the same grown to a crowd.

:func:`simulated_pilot` loads ``instruments/pilot`` into a study app on SQLite, lets
``--simulated`` bots (``study_app.simulate``, noisy-model policy) take it through the real pages and
writes every table the admin's export writes, as Parquet. :func:`grow_export` clones those
participants (with every response and selection) to the size asked for, flipping a share of each
clone's selections, so the grown export has the pilot's tasks, units, explainers and table shapes.
Both are cached in a folder so that a benchmark builds them once.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "instruments" / "pilot"
CLONED = ("participants", "responses", "selections", "questionnaire")  # tables with a row per participant


def simulated_pilot(folder: Path, n_participants: int = 6, seed: int = 0) -> Path:
    """Write the export of the pilot answered by ``n_participants`` bots to ``folder`` (Parquet); return it."""
    import sqlalchemy as sa
    from werkzeug.serving import make_server

    from study_app import create_app
    from study_app.extensions import db
    from study_app.models import Study
    from study_app.simulate import Catalog, Settings, run_bots

    folder.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request of the bots
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/db"})
        with app.app_context():
            db.create_all()
        loaded = app.test_cli_runner().invoke(args=["load-study", str(PILOT)])
        if loaded.exit_code != 0:
            raise RuntimeError(f"load-study {PILOT} failed: {loaded.output}")
        with app.app_context():
            study = db.session.scalar(sa.select(Study))
            slug, catalog = study.slug, Catalog.from_study(study)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            run_bots(
                f"http://127.0.0.1:{server.server_port}",
                slug,
                catalog,
                Settings(policy="noisy-model", noise=0.1),
                n=n_participants,
                threads=2,
                seed=seed,
                progress=False,
            )
        finally:
            server.shutdown()
            thread.join()
        from study_app.export.bundle import build_export  # after create_app: the blueprints import it too

        with app.app_context():
            tables = build_export(slug).tables
            db.engine.dispose()
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def grow_export(source: Path, folder: Path, n_participants: int, flip: float = 0.15, seed: int = 0) -> dict[str, int]:
    """Clone the participants of the export in ``source`` until there are ``n_participants``; write to ``folder``.

    Clone ``c`` of participant ``p`` is ``p~c`` with all of ``p``'s rows; each of its selections of a
    selectable unit is flipped with probability ``flip`` (so clones agree with their original, and
    with each other, less than perfectly). Other tables are copied. Returns the rows per table.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    people = pd.read_parquet(source / "participants.parquet")["participant_id"].astype(str).tolist()
    copies = [(people[i % len(people)], f"{people[i % len(people)]}~{i // len(people)}") for i in range(n_participants)]
    mapping = pd.DataFrame(copies, columns=["participant_id", "clone_id"])
    units = pd.read_parquet(source / "units.parquet", columns=["task_id", "unit_index", "selectable"])
    counts = {}
    for path in sorted(source.glob("*.parquet")):
        name = path.stem
        table = pd.read_parquet(path)
        if name in CLONED and "participant_id" in table.columns:
            table = table.astype({"participant_id": str}).merge(mapping, on="participant_id")
            table = table.drop(columns="participant_id").rename(columns={"clone_id": "participant_id"})
            if name == "selections":
                selectable = table[["task_id", "unit_index"]].merge(units, how="left")["selectable"].to_numpy() == 1
                flipped = selectable & (rng.random(len(table)) < flip)
                table["selected"] = np.where(flipped, 1 - table["selected"], table["selected"])
            table = table.sort_values("participant_id", kind="stable")
        table.to_parquet(folder / path.name, index=False)
        counts[name] = len(table)
    return counts


def cached_grown_pilot(cache: Path, n_participants: int, simulated: int = 6, flip: float = 0.15) -> Path:
    """The grown pilot export in ``cache`` (built on first use: bots, then clones); return its folder."""
    pilot = cache / f"pilot-{simulated}"
    grown = cache / f"pilot-{simulated}-grown-{n_participants}-{flip}"
    if not (pilot / "selections.parquet").exists():
        shutil.rmtree(pilot, ignore_errors=True)
        simulated_pilot(pilot, simulated)
    if not (grown / "selections.parquet").exists():
        shutil.rmtree(grown, ignore_errors=True)
        partial = grown.with_name(grown.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        grow_export(pilot, partial, n_participants, flip)
        partial.rename(grown)  # a crash halfway leaves no folder that looks complete
    return grown
