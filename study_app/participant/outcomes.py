"""How a participant's study ends, and the code and redirect each ending gives (``[prolific]``).

Outcomes follow Prolific's rules: ``failed_attention`` only after ``attention_failures`` failed
attention checks (two by default: Prolific allows a rejection only then), never for the tutorial
(a comprehension check); ``screened_out`` when a questionnaire answer is one of its question's
``screen_out`` options; ``full`` for an arrival the study has no task for (no participant is stored:
they never consented). The end page shows the outcome's code; the participant record keeps it.
"""

from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select, update

from contract.study_definition import OutcomeCode, Question
from study_app.extensions import db
from study_app.models import Participant, Response, Study, utcnow
from study_app.participant.randomization import short_code

# What the end page says for each outcome (title, text).
MESSAGES = {
    "completed": ("Thank you!", "The study is finished and your answers are saved. There is nothing more to do."),
    "failed_attention": (
        "The study has ended",
        "You did not pass the attention checks of this study, so it ends here. Your answers are saved.",
    ),
    "screened_out": (
        "Thank you for your interest",
        "This study is looking for participants with a different background, so it ends here.",
    ),
    "full": (
        "This study is full",
        "Thank you for your interest. Every task of this study has all the answers it needs, "
        "so it takes no more participants.",
    ),
}


def outcome_code(study: Study, outcome: str) -> OutcomeCode:
    """Return the code and redirect of ``outcome`` in the study's ``[prolific]`` settings."""
    return getattr(study.definition.prolific, outcome)


def redirect_url(study: Study, outcome: str, code: str | None) -> str:
    return outcome_code(study, outcome).redirect.replace("{code}", code or "")


PERSONAL = "personal"  # code_shown of a code drawn for one participant: it lives in linkage.csv only


def code_shown(study: Study, participant: Participant) -> str | None:
    """Return the code the participant's end page showed as the export records it."""
    if participant.completion_code is None:
        return None
    if participant.completion_code == outcome_code(study, participant.outcome or "completed").code:
        return participant.completion_code
    return PERSONAL


def finish(participant: Participant, outcome: str) -> None:
    """End the participant's study with ``outcome`` and the code it shows, once.

    One conditional UPDATE: of two requests ending the same participant at once, only the first
    sets the outcome and the code.
    """
    code = outcome_code(participant.study, outcome).code
    if code is None and outcome == "completed":
        code = short_code()
    db.session.execute(
        update(Participant)
        .where(Participant.id == participant.id, Participant.status != "finished")
        .values(status="finished", finished_at=utcnow(), outcome=outcome, completion_code=code)
    )
    db.session.commit()
    db.session.refresh(participant)


def attention_failures(participant: Participant) -> int:
    """Return how many attention checks the participant has failed."""
    return db.session.scalar(
        select(func.count(Response.id)).where(
            Response.participant_id == participant.id, Response.attention_passed.is_(False)
        )
    )


def failed_out(participant: Participant) -> bool:
    """Tell whether the participant has failed as many attention checks as end the study."""
    return attention_failures(participant) >= participant.study.definition.prolific.attention_failures


def screened_out(questions: list[Question], answers: dict[str, str]) -> bool:
    """Tell whether a questionnaire answer is one of its question's ``screen_out`` options."""
    return any(answers.get(q.id) in (q.screen_out or ()) for q in questions)


def ending_page(study: Study, outcome: str, code: str | None, status: int = 200):
    """Render the end page of ``outcome``: its message, the code shown and the way back.

    Without a participant's own ``code`` (an arrival to a full study), the outcome's code is shown.
    """
    title, text = MESSAGES[outcome]
    if code is None:
        code = outcome_code(study, outcome).code
    return render_template(
        "participant/end.html",
        study=study,
        title=title,
        text=text,
        code=code,
        redirect_url=redirect_url(study, outcome, code),
    ), status
