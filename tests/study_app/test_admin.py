"""Admin: login, the guard on every admin route, dashboard figures, exclusions, zip download."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from participant_steps import consent
from test_export import T0, linkage_map, seed

from analysis.agreement import cohen_kappa
from analysis.ceiling import CEILING_FLOOR
from study_app.admin.commands import create_admin
from study_app.admin.models import AdminUser, Exclusion
from study_app.admin.stats import participant_summary
from study_app.export.bundle import build_export
from study_app.extensions import db
from study_app.models import Participant, Study

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(app):
    with app.app_context():
        create_admin("alice", PASSWORD)


def login(client, csrf_of, password=PASSWORD):
    token = csrf_of(client.get("/admin/login").text)
    return client.post("/admin/login", data={"username": "alice", "password": password, "csrf_token": token})


def admin_urls(app) -> list[tuple[str, str]]:
    """Every admin route with its method, placeholders filled with a plausible value."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and rule.endpoint != "admin.login":
            url = rule.rule.replace("<public_id>", "pub0000").replace("<int:index>", "0")
            out += [(m, url) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def test_every_admin_route_is_closed_when_logged_out(app, client, loaded):
    seed(app)
    urls = admin_urls(app)
    assert len(urls) >= 8  # dashboard, participants, participant, exclude, include, export x2, logout
    app.config["WTF_CSRF_ENABLED"] = False  # so a POST reaches the guard rather than the CSRF check
    for method, url in urls:
        resp = client.open(url, method=method)
        assert resp.status_code in (302, 401), (method, url)
        if resp.status_code == 302:
            assert resp.headers["Location"].startswith("/admin/login"), (method, url)


def test_login_with_hashed_password(app, client, csrf_of, admin):
    with app.app_context():
        stored = db.session.scalar(sa.select(AdminUser.password_hash))
    assert PASSWORD not in stored and stored.startswith("scrypt:")
    assert "Wrong username or password" in login(client, csrf_of, "wrong").text
    assert client.get("/admin/").status_code == 302
    assert login(client, csrf_of).headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/").text)})
    assert client.get("/admin/").status_code == 302


def test_login_does_not_redirect_off_site(client, csrf_of, admin):
    token = csrf_of(client.get("/admin/login").text)
    resp = client.post(
        "/admin/login?next=https://evil.example/", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert resp.headers["Location"] == "/admin/"


def test_create_admin_command(app, runner):
    result = runner.invoke(args=["create-admin", "--username", "bob", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-admin", "--username", "eve", "--password", "short"])
    assert result.exit_code != 0 and "at least 8" in result.output and "Traceback" not in result.output
    result = runner.invoke(args=["create-admin", "--username", "carol"], input="pass-word-1\npass-word-1\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(sa.select(AdminUser))}
        assert set(users) == {"bob", "carol"} and users["carol"].check_password("pass-word-1")


def stat(page: str, name: str) -> str:
    """The text of the element marked ``data-stat="name"`` (the first one)."""
    return re.search(rf'data-stat="{name}">([^<]*)<', page).group(1)


def response_kappas(export, drop: set[str] = frozenset()) -> pd.DataFrame:
    """Cohen's kappa of every main-task response, recomputed from the exported vectors with analysis.agreement."""
    sel, rat, resp = (export.tables[t] for t in ("selections", "model_rationales", "responses"))
    main = set(resp.loc[resp["kind"] == "main", "task_id"])
    rows = []
    for (pid, task), part in sel[sel["task_id"].isin(main) & ~sel["participant_id"].isin(drop)].groupby(
        ["participant_id", "task_id"]
    ):
        model = rat[rat["task_id"] == task].set_index("unit_index")["in_rationale"]
        human = part.set_index("unit_index")["selected"]
        rows.append(
            {
                "participant_id": pid,
                "task_id": task,
                "kappa": cohen_kappa(human.to_numpy(), model.reindex(human.index, fill_value=0).to_numpy())[0],
            }
        )
    return pd.DataFrame(rows)


def test_dashboard_figures(app, client, csrf_of, admin, loaded):
    seed(app)
    login(client, csrf_of)
    page = client.get("/admin/").text
    with app.app_context():
        export = build_export("fixture")
    # 4 participants: pub0000 and pub0002 finished after 20 min and 20 min 2 s, the others idle since 2026
    assert [stat(page, s) for s in ("started", "consented", "finished", "dropped_out", "excluded")] == [
        "4",
        "4",
        "2",
        "2",
        "0",
    ]
    assert stat(page, "median_finish") == "20 min 01 s"
    kappas = response_kappas(export)
    assert stat(page, "kappa-mean") == f"{kappas['kappa'].mean():.3f}" and stat(page, "kappa-n") == str(len(kappas))
    fx0 = kappas[kappas["task_id"] == "fx-0"]["kappa"]
    row = re.search(r'<tr data-task="fx-0">(.*?)</tr>', page, re.DOTALL).group(1)
    assert stat(row, "answers") == str(len(fx0)) and stat(row, "kappa") == f"{fx0.mean():.3f}"
    assert f'<meter class="kappa" min="-1" max="1" value="{fx0.mean()}">' in row
    # active_ms of phase-1 main answers is 9000 + position (positions 1 and 2): 9.0 and 9.0 s when rounded
    assert stat(page, "median-time-all") == "9 s"
    failures = export.tables["responses"].groupby("participant_id")["attention_passed"].apply(lambda a: (a == 0).any())
    assert "<h2>Attention checks</h2>" in page and stat(page, "attention-failed") == str(int(failures.sum()))
    assert "a participant's selection with the model's rationale" in page


def test_attention_section_only_for_studies_with_checks(app, client, csrf_of, admin, loaded):
    seed(app)
    with app.app_context():
        study = db.session.scalar(sa.select(Study))
        study.config = {**study.config, "attention_checks": []}
        db.session.commit()
    login(client, csrf_of)
    assert "Attention checks" not in client.get("/admin/").text


def test_study_switcher_is_remembered(app, client, csrf_of, admin, loaded):
    seed(app)
    with app.app_context():  # a later, empty study: the default without a choice
        stored = db.session.scalar(sa.select(Study)).config  # what any stored study has: its definition
        db.session.add(Study(slug="later", version=1, title="Later", config=stored, content_hash="0"))
        db.session.commit()
    login(client, csrf_of)
    for url in ("/admin/", "/admin/participants", "/admin/export"):
        page = client.get(url).text
        assert '<option value="later" selected>' in page and '<option value="fixture">' in page, url
    assert "No answer to a main task yet" in client.get("/admin/").text
    assert "Study fixture" in client.get("/admin/?study=fixture").text
    for url in ("/admin/participants", "/admin/export", "/admin/"):
        assert '<option value="fixture" selected>' in client.get(url).text, url
    assert "Participants of fixture" in client.get("/admin/participants").text
    assert client.get("/admin/?study=nothing").status_code == 404


def test_participants_list_and_page(app, client, csrf_of, admin, loaded):
    seed(app)
    login(client, csrf_of)
    with app.app_context():
        export = build_export("fixture")
    names = {v: k for k, v in linkage_map(export).items()}  # pseudonym -> public id
    page = client.get("/admin/participants").text
    means = response_kappas(export).groupby("participant_id")["kappa"].mean()
    for pseudonym, mean in means.items():
        row = re.search(
            rf'<tr><td class="key"><a href="/admin/participants/{names[pseudonym]}">.*?</tr>', page, re.DOTALL
        ).group(0)
        assert f">{mean:.3f}</td>" in row
        assert "Student" in row and 'class="sort"' not in row  # questionnaire answers in the row
    assert page.count('<button type="button" class="sort">') >= 10
    one = client.get("/admin/participants/pub0001").text
    assert '<a href="/admin/participants?study=fixture">' in one
    # one row per task: phase-2 agreement beside the phase-1 selection, no row without a kappa cell
    responses = export.tables["responses"]
    pseudonym = linkage_map(export)["pub0001"]
    mine = responses[responses["participant_id"] == pseudonym]
    assert one.count('<tr><td class="num">') == (mine["phase"] == 1).sum()


def test_participant_summary_dropout_window(app, loaded):
    seed(app)
    with app.app_context():
        tables = build_export("fixture").tables
    # the last answer of pub0001 (unfinished) is at T0 + 1 min + 3 min + 40 s (phase 2 is on main tasks only)
    soon = participant_summary(tables, T0 + timedelta(minutes=5), dropout_minutes=60)
    late = participant_summary(tables, T0 + timedelta(hours=2), dropout_minutes=60)
    assert (soon["in_progress"], soon["dropped_out"]) == (2, 0)
    assert (late["in_progress"], late["dropped_out"]) == (0, 2)


def test_exclusion_round_trip_and_export_download(app, client, csrf_of, admin, loaded):
    seed(app)
    login(client, csrf_of)
    page = client.get("/admin/participants/pub0001")
    assert page.status_code == 200 and "pub0001" in page.text
    client.post(
        "/admin/participants/pub0001/exclude", data={"reason": "failed attention", "csrf_token": csrf_of(page.text)}
    )
    with app.app_context():
        excl = db.session.scalar(sa.select(Exclusion).join(Participant))
        assert excl.reason == "failed attention" and excl.admin_id is not None
    page = client.get("/admin/participants/pub0001")
    assert "Excluded: failed attention" in page.text
    resp = client.post("/admin/export", data={"format": "csv", "drop_excluded": "y", "csrf_token": csrf_of(page.text)})
    assert resp.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        people = pd.read_csv(zf.open("participants.csv"))
    assert len(people) == 3 and people["excluded"].sum() == 0
    client.post("/admin/participants/pub0001/include", data={"csrf_token": csrf_of(page.text)})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Exclusion)) == 0
    assert client.get("/admin/participants/nobody").status_code == 404


def test_dashboard_without_a_study(client, csrf_of, admin):
    login(client, csrf_of)
    page = client.get("/admin/")
    assert page.status_code == 200 and "No study yet" in page.text


def test_dashboard_of_a_study_without_answers(app, client, csrf_of, admin, loaded):
    """Right after load-study: no participant, no answer; the dashboard says so instead of failing."""
    login(client, csrf_of)
    page = client.get("/admin/")
    assert page.status_code == 200
    assert [stat(page.text, s) for s in ("started", "finished", "excluded")] == ["0", "0", "0"]
    assert "No answer to a main task yet." in page.text
    for task in ("fx-0", "fx-1", "fx-2"):
        row = re.search(rf'<tr data-task="{task}">(.*?)</tr>', page.text, re.DOTALL).group(1)
        assert stat(row, "answers") == "0" and stat(row, "kappa") == "–" and stat(row, "human-kappa") == "–"


def test_dashboard_leaves_excluded_participants_out(app, client, csrf_of, admin, loaded):
    seed(app)
    with app.app_context():
        finished = db.session.scalar(sa.select(Participant).where(Participant.public_id == "pub0000"))
        db.session.add(Exclusion(participant_id=finished.id, reason="test"))
        db.session.commit()
        export = build_export("fixture")
    login(client, csrf_of)
    page = client.get("/admin/").text
    # the funnel counts everyone; the excluded pub0000 leaves the figures: pub0002 finished after 20 min 2 s
    assert [stat(page, s) for s in ("started", "finished", "excluded")] == ["4", "2", "1"]
    assert stat(page, "median_finish") == "20 min 02 s"
    kappas = response_kappas(export, drop={linkage_map(export)["pub0000"]})
    assert stat(page, "kappa-mean") == f"{kappas['kappa'].mean():.3f}" and stat(page, "kappa-n") == str(len(kappas))


def test_linkage_is_a_separate_explicit_download(app, client, csrf_of, admin, loaded):
    seed(app)
    login(client, csrf_of)
    page = client.get("/admin/export")
    assert "Download linkage.csv" in page.text
    zipped = client.post("/admin/export", data={"format": "csv", "csrf_token": csrf_of(page.text)})
    names = zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()
    assert "participants.csv" in names and "linkage.csv" not in names
    assert not any(b"PROLIFIC000" in zipfile.ZipFile(io.BytesIO(zipped.data)).read(n) for n in names)
    linkage = client.post("/admin/export/linkage", data={"csrf_token": csrf_of(page.text)})
    assert linkage.mimetype == "text/csv" and linkage.headers["Cache-Control"] == "no-store"
    table = pd.read_csv(io.BytesIO(linkage.data))
    assert sorted(table["prolific_pid"]) == [f"PROLIFIC{i:04d}" for i in range(4)]
    assert client.post("/admin/export/linkage", data={}).status_code == 400  # no CSRF token, no download


def loo_kappa_by_hand(export, task_id: str) -> float:
    """Mean over participants of sklearn's kappa against the units at least half of the others selected."""
    import warnings

    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    sel = export.tables["selections"]
    part = sel[sel["task_id"] == task_id].pivot(index="participant_id", columns="unit_index", values="selected")
    part = part[part.sum(axis=1) > 0]  # participants who selected nothing are left out
    kappas = []
    for pid in part.index:
        others = part.drop(index=pid)
        majority = (others.sum(axis=0) * 2 >= len(others)).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kappas.append(cohen_kappa_score(part.loc[pid], majority))
    return float(np.nanmean(kappas)) if len(part) > 1 else float("nan")


def test_dashboard_shows_the_human_ceiling(app, client, csrf_of, admin, loaded):
    seed(app, n_participants=8)
    login(client, csrf_of)
    page = client.get("/admin/").text
    with app.app_context():
        export = build_export("fixture")
    by_hand = {task: loo_kappa_by_hand(export, task) for task in ("fx-0", "fx-1", "fx-2")}
    for task, value in by_hand.items():
        row = re.search(rf'<tr data-task="{task}">(.*?)</tr>', page, re.DOTALL).group(1)
        assert stat(row, "human-kappa") == (f"{value:.3f}" if value == value else "–")
    defined = [v for v in by_hand.values() if v == v]
    assert len(defined) == 3  # eight participants: every task has a ceiling
    assert stat(page, "ceiling-tasks") == str(len(defined))
    assert stat(page, "human-kappa") == f"{sum(defined) / len(defined):.3f}"
    ceiling = sum(defined) / len(defined)
    if ceiling < CEILING_FLOOR:  # the ratio is flagged, with the reason, not printed
        assert stat(page, "fraction-of-ceiling") == "undefined"
        assert f"the human ceiling {ceiling:.3f} is below the floor" in stat(page, "fraction-note")
    else:
        # model κ is shown to 3 decimals and the ceiling is at least the floor: the ratio agrees to 0.005
        assert float(stat(page, "fraction-of-ceiling")) == pytest.approx(
            float(stat(page, "model-kappa")) / ceiling, abs=5e-3
        )
    assert f"only when the ceiling is at least {CEILING_FLOOR:g}" in page


def test_participants_and_export_pages_of_a_study_nobody_took(client, csrf_of, admin, loaded):
    login(client, csrf_of)
    people = client.get("/admin/participants")
    assert people.status_code == 200 and "No participants yet." in people.text and "<table" not in people.text
    export = client.get("/admin/export")
    assert export.status_code == 200 and "No one has taken part in fixture yet" in export.text
    assert "Download zip" not in export.text


def test_participants_list_shows_attention_as_whole_counts(app, client, csrf_of, admin, loaded):
    seed(app)
    consent(app.test_client())  # one who has taken no check yet: the column holds a gap
    login(client, csrf_of)
    page = client.get("/admin/participants").text
    cells = re.findall(r'<td class="attention[^"]*" data-sort="[^"]*">([^<]*)</td>', page)
    assert cells and all(re.fullmatch(r"\d+ of \d+|–", c) for c in cells), cells
