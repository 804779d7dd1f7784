"""The dashboard's figures: computed once per change of the answers, stale ones served during a refresh."""

from __future__ import annotations

import sqlalchemy as sa
from test_admin import admin, login, stat  # noqa: F401  (admin is a fixture)
from test_export import seed

from study_app.admin import routes
from study_app.admin.figure_cache import answers_version, figure_cache
from study_app.admin.models import Exclusion
from study_app.extensions import db
from study_app.models import Participant, Response


def counting(monkeypatch) -> list[str]:
    """Count the dashboard's full computations."""
    calls, compute = [], routes.dashboard_figures

    def counted(slug):
        calls.append(slug)
        return compute(slug)

    monkeypatch.setattr(routes, "dashboard_figures", counted)
    return calls


def exclude(app, public_id: str) -> None:
    with app.app_context():
        p = db.session.scalar(sa.select(Participant).where(Participant.public_id == public_id))
        db.session.add(Exclusion(participant_id=p.id, reason="test"))
        db.session.commit()


def test_figures_are_computed_once_while_nothing_changes(app, client, csrf_of, admin, loaded, monkeypatch):  # noqa: F811
    seed(app)
    login(client, csrf_of)
    calls = counting(monkeypatch)
    pages = [client.get("/admin/").text for _ in range(3)]
    assert calls == ["fixture"] and len({stat(p, "kappa-n") for p in pages}) == 1
    assert "new answers have arrived" not in pages[-1]


def test_a_change_serves_the_stale_figures_while_one_refresh_runs(app, client, csrf_of, admin, loaded, monkeypatch):  # noqa: F811
    app.config["DASHBOARD_REFRESH_SECONDS"] = 0
    seed(app)
    login(client, csrf_of)
    before = client.get("/admin/").text
    calls = counting(monkeypatch)
    exclude(app, "pub0000")  # its two main answers leave the figures
    stale = client.get("/admin/").text
    assert stat(stale, "kappa-n") == stat(before, "kappa-n") and "new answers have arrived" in stale
    figure_cache(app).entries["fixture"].refresh.join(timeout=60)
    fresh = client.get("/admin/").text
    assert int(stat(fresh, "kappa-n")) == int(stat(before, "kappa-n")) - 2 and "new answers have arrived" not in fresh
    assert calls == ["fixture"]  # the stale view started the one refresh; the fresh view found it done


def test_a_researchers_own_exclusion_shows_on_the_next_view(app, client, csrf_of, admin, loaded, monkeypatch):  # noqa: F811
    seed(app)
    login(client, csrf_of)
    before = client.get("/admin/").text
    calls = counting(monkeypatch)
    token = csrf_of(client.get("/admin/participants/pub0000").text)
    client.post("/admin/participants/pub0000/exclude", data={"reason": "pilot run", "csrf_token": token})
    after = client.get("/admin/").text  # background refresh is on, yet this view is not stale
    assert int(stat(after, "kappa-n")) == int(stat(before, "kappa-n")) - 2 and "new answers have arrived" not in after
    client.post("/admin/participants/pub0000/include", data={"csrf_token": token})
    again = client.get("/admin/").text
    assert stat(again, "kappa-n") == stat(before, "kappa-n") and calls == ["fixture", "fixture"]


def test_without_background_refresh_a_change_is_computed_before_answering(app, client, csrf_of, admin, loaded):  # noqa: F811
    app.config["DASHBOARD_BACKGROUND_REFRESH"] = False
    seed(app)
    login(client, csrf_of)
    before = client.get("/admin/").text
    exclude(app, "pub0000")
    after = client.get("/admin/").text
    assert int(stat(after, "kappa-n")) == int(stat(before, "kappa-n")) - 2


def test_every_new_answer_changes_the_version(app, loaded):
    seed(app)
    with app.app_context():
        versions = [answers_version("fixture")]
        r = db.session.scalar(sa.select(Response).where(Response.phase == 2).order_by(Response.id).limit(1))
        copy = {c.name: getattr(r, c.name) for c in Response.__table__.columns if c.name != "id"}
        db.session.delete(r)
        db.session.commit()
        versions.append(answers_version("fixture"))
        db.session.add(Response(**copy))  # the same answer again: same count, a new id
        db.session.commit()
        versions.append(answers_version("fixture"))
        p = db.session.scalar(sa.select(Participant).where(Participant.status != "finished").limit(1))
        p.status = "finished"
        db.session.commit()
        versions.append(answers_version("fixture"))
        assert len(set(versions)) == 4 and versions[-1] == answers_version("fixture")
        assert answers_version("other")[:2] == (None, 0)


def test_answers_arriving_refresh_the_figures_at_most_once_per_interval(
    app, client, csrf_of, admin, loaded, monkeypatch
):  # noqa: F811
    seed(app)
    login(client, csrf_of)
    client.get("/admin/")
    calls = counting(monkeypatch)
    exclude(app, "pub0000")
    stale = client.get("/admin/").text  # the figures were computed just now: within the 30 s default
    entry = figure_cache(app).entries["fixture"]
    assert "new answers have arrived" in stale and entry.refresh is None and calls == []
    entry.started -= 30  # as if they had been computed 30 s ago
    client.get("/admin/")
    entry.refresh.join(timeout=60)
    fresh = client.get("/admin/").text
    assert "new answers have arrived" not in fresh and calls == ["fixture"]
