"""Admin views: dashboard, participants, exclusions and the export download."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from analysis.breakdown import format_duration
from analysis.ceiling import CEILING_FLOOR
from study_app.admin import bp
from study_app.admin.figure_cache import cached_figures, forget_figures
from study_app.admin.forms import ConfirmForm, EraseForm, ExclusionForm, ExportForm, LinkageForm
from study_app.admin.models import Exclusion
from study_app.admin.stats import (
    agreement,
    attention_results,
    overall_time,
    participant_rows,
    participant_summary,
    response_rows,
    task_rows,
)
from study_app.erase import erase
from study_app.export.bundle import build_export
from study_app.export.codebook import question_column
from study_app.export.pseudonym import export_key, pseudonym
from study_app.export.tables import ExportRequestError, build_tables, load_rows
from study_app.export.writers import LINKAGE_FILE, linkage_bytes, render, zip_bytes
from study_app.extensions import db
from study_app.models import Participant, Study, utcnow


def records(df) -> list[dict]:
    """Return ``df`` as row dicts with None for every missing value (NA is not usable in Jinja tests)."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def study_slugs() -> list[str]:
    return sorted(db.session.scalars(select(Study.slug).distinct()))


def chosen_slug() -> str | None:
    """Return the study named in ``?study=`` (and remember it in the session), else the one remembered,
    else the most recently loaded."""
    slugs = study_slugs()
    slug = request.args.get("study")
    if slug is not None:
        if slug not in slugs:
            abort(404, f"no study '{slug}'")
        session["admin_study"] = slug
        return slug
    if session.get("admin_study") in slugs:
        return session["admin_study"]
    return db.session.scalar(select(Study.slug).order_by(Study.created_at.desc(), Study.id.desc()).limit(1))


def enrolled_count(slug: str | None) -> int:
    """Return how many participants (in any version of study ``slug``) consented or declined."""
    if slug is None:
        return 0
    return db.session.scalar(select(func.count(Participant.id)).join(Participant.study).where(Study.slug == slug)) or 0


@bp.context_processor
def study_switcher() -> dict:
    """Every admin page offers the study switcher; a view sets ``slug`` (and ``switch_to``) itself."""
    return {"study_slugs": study_slugs() if current_user.is_authenticated else []}


@bp.app_template_filter("duration")
def duration_filter(seconds) -> str:
    return format_duration(seconds)


@bp.app_template_filter("stat")
def stat_filter(value, decimals: int = 3) -> str:
    """A statistic with fixed decimals, as the report prints it; missing as an en dash."""
    return "–" if value is None else f"{value:.{decimals}f}"


def study_tables(slug: str, **kwargs):
    """Return the rows of ``slug`` (telemetry left out) and the tables an export of them would hold."""
    rows = load_rows(slug, events=False, **kwargs)
    return rows, build_tables(rows, export_key(current_app.config))


def public_ids(rows) -> dict[str, str]:
    """Map each participant's export pseudonym to the public id the admin pages link with."""
    key = export_key(current_app.config)
    return {pseudonym(p.public_id, key): p.public_id for p in rows.participants}


def dashboard_figures(slug: str) -> dict:
    """Everything the dashboard shows of study ``slug``, computed from all its rows (seconds at scale)."""
    rows, tables = study_tables(slug)
    main_ids = list(
        dict.fromkeys(t.task_id for t in sorted(rows.tasks.values(), key=lambda t: t.position) if t.kind == "main")
    )
    scores = agreement(tables)
    overall = (
        None
        if scores is None
        else {
            r["metric"]: r
            for r in records(scores["alignment_summary"].set_index("metric").loc[["kappa", "ac1"]].reset_index())
        }
    )
    attention = None  # the section shows only for a study with attention checks
    if any(s.definition.attention_checks for s in rows.studies):
        names = public_ids(rows)
        excluded = set(tables["participants"].loc[tables["participants"]["excluded"] == 1, "participant_id"])
        attention = [
            {**r, "public_id": names[r["participant_id"]], "excluded": r["participant_id"] in excluded}
            for r in records(attention_results(tables))
        ]
    return {
        "summary": participant_summary(tables, utcnow(), current_app.config.get("DROPOUT_MINUTES", 60)),
        "overall": overall,
        "ceiling": None if scores is None else records(scores["ceiling_summary"])[0],
        "tasks": records(task_rows(tables, main_ids, scores)),
        "time": overall_time(tables),
        "attention": attention,
    }


@bp.get("/")
def dashboard():
    slug = chosen_slug()
    if slug is None:
        return render_template("admin/dashboard.html", slug=None)
    figures, behind = cached_figures(slug, dashboard_figures)
    return render_template(
        "admin/dashboard.html",
        slug=slug,
        **figures.figures,
        computed_at=figures.computed_at,
        behind=behind,
        ceiling_floor=CEILING_FLOOR,
    )


@bp.get("/participants")
def participants():
    slug = chosen_slug()
    if slug is None:
        return redirect(url_for("admin.dashboard"))
    rows, tables = study_tables(slug)
    people = participant_rows(tables, public_ids(rows), agreement(tables, keep_excluded=True))
    return render_template(
        "admin/participants.html",
        slug=slug,
        people=records(people.sort_values("started_at")),
        questions=[(question_column(q.id), q) for q in rows.questions],
    )


def get_participant(public_id: str) -> Participant:
    p = db.session.scalar(select(Participant).where(Participant.public_id == public_id))
    if p is None:
        abort(404, "no such participant")
    return p


@bp.get("/participants/<public_id>")
def participant(public_id: str):
    p = get_participant(public_id)
    rows, tables = study_tables(p.study.slug, only=p.id)
    responses = response_rows(tables, agreement(tables, keep_excluded=True))
    return render_template(
        "admin/participant.html",
        p=p,
        slug=p.study.slug,
        switch_to="admin.participants",
        name=pseudonym(p.public_id, export_key(current_app.config)),
        exclusion=rows.exclusions.get(p.id),
        responses=records(responses),
        answers=records(tables["questionnaire"]),
        exclude_form=ExclusionForm(),
        include_form=ConfirmForm(),
        erase_form=EraseForm(),
    )


@bp.post("/participants/<public_id>/exclude")
def exclude(public_id: str):
    p = get_participant(public_id)
    form = ExclusionForm()
    if not form.validate_on_submit():
        flash("Give a reason for the exclusion.")
    elif db.session.scalar(select(Exclusion).where(Exclusion.participant_id == p.id)) is None:
        db.session.add(Exclusion(participant_id=p.id, reason=form.reason.data, admin_id=current_user.id))
        try:
            db.session.commit()
        except IntegrityError:  # excluded twice at once: the first reason stays
            db.session.rollback()
        forget_figures(p.study.slug)
    return redirect(url_for("admin.participant", public_id=public_id))


@bp.post("/participants/<public_id>/include")
def include(public_id: str):
    p = get_participant(public_id)
    if ConfirmForm().validate_on_submit():
        excl = db.session.scalar(select(Exclusion).where(Exclusion.participant_id == p.id))
        if excl is not None:
            db.session.delete(excl)
            db.session.commit()
            forget_figures(p.study.slug)
    return redirect(url_for("admin.participant", public_id=public_id))


@bp.post("/participants/<public_id>/erase")
def erase_participant(public_id: str):
    """Erase a participant who withdrew (the same as ``flask delete-participant``)."""
    p = get_participant(public_id)
    slug = p.study.slug
    if not EraseForm().validate_on_submit():
        flash("Tick the box to confirm the erasure.")
        return redirect(url_for("admin.participant", public_id=public_id))
    deleted = erase(p)
    forget_figures(slug)
    flash(f"Erased participant {public_id}: {sum(deleted.values())} rows deleted.")
    return redirect(url_for("admin.participants", study=slug))


@bp.route("/export", methods=["GET", "POST"])
def export():
    slug = chosen_slug()
    form = ExportForm()
    if form.validate_on_submit():
        try:
            files = render(build_export(slug, drop_excluded=form.drop_excluded.data), form.format.data)
        except ExportRequestError as err:
            flash(str(err))
            return redirect(url_for("admin.export"))
        name = f"{slug}-export-{form.format.data}.zip"
        return Response(
            zip_bytes(files),
            mimetype="application/zip",
            headers={"Content-Disposition": f"attachment; filename={name}"},
        )
    return render_template(
        "admin/export.html", slug=slug, form=form, linkage_form=LinkageForm(), enrolled=enrolled_count(slug)
    )


@bp.post("/export/linkage")
def export_linkage():
    """The linkage table alone (recruiter ids, completion codes): a separate, explicit download."""
    slug = chosen_slug()
    if not LinkageForm().validate_on_submit():
        return redirect(url_for("admin.export", study=slug))
    try:
        data = linkage_bytes(build_export(slug))
    except ExportRequestError as err:
        flash(str(err))
        return redirect(url_for("admin.export"))
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={slug}-{LINKAGE_FILE}", "Cache-Control": "no-store"},
    )
