"""Simulated participants: bots that take a study through its real HTTP pages, as oTree bots do.

Each bot has its own ``requests.Session`` (its own cookie), opens the study link with recruiter
parameters, consents, fills the questionnaire from the form it is served, does the tutorial and
every task, and records what the server acknowledged. Failed requests (connection errors, 5xx) are
retried; the answer API is idempotent, so a retry never stores twice.

Policies choose the selection on a task page:
``random``       each selectable unit with probability ``rate``;
``model``        exactly the model rationale's selectable units;
``noisy-model``  the model's units with each selectable unit flipped with probability ``noise``.
A bot recognises the task it is shown by the unit texts on the page (and, for an attention check,
by its instruction), looks it up in the study's tasks and answers attention checks as instructed.
"""

from __future__ import annotations

import json
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests
from tqdm import tqdm

from contract.prepared_tasks import selectable_of
from contract.study_definition import AttentionCheck

POLICIES = ("random", "model", "noisy-model")
RETRY_STATUS = {500, 502, 503, 504}


class SimulationError(RuntimeError):
    """A bot met a page or answer it cannot handle; the message says where."""


class StoppedError(Exception):
    """The run's deadline passed while the bot was still in the study."""


SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


@dataclass
class Settings:
    policy: str = "model"
    rate: float = 0.2  # random policy: chance to select each unit
    noise: float = 0.1  # noisy-model policy: chance to flip each unit
    attention_fail: float = 0.0  # chance to answer an attention check wrongly
    retries: int = 8
    timeout: float = 30.0
    think_s: tuple[float, float] = (0.0, 0.0)  # a bot waits uniform(low, high) seconds before each answer
    deadline: float | None = None  # time.monotonic() after which bots stop where they are (open-loop runs)


@dataclass
class Answered:
    """An answer the server acknowledged (2xx)."""

    position: int
    phase: int
    task_id: str
    selected: list[int]
    confidence: int | None
    would_predict: str | None
    agreement: int | None
    active_ms: int


@dataclass
class BotResult:
    prolific_pid: str
    public_id: str | None = None
    questionnaire: dict[str, str] = field(default_factory=dict)
    answers: list[Answered] = field(default_factory=list)
    completion_code: str | None = None
    answer_latencies_ms: list[float] = field(default_factory=list)  # one per acknowledged answer POST
    answer_server_ms: list[float] = field(default_factory=list)  # the same answers' Server-Timing
    stopped: bool = False  # reached Settings.deadline before the end of the study
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    error: str | None = None


class Catalog:
    """The study's task payloads by kind, and its attention checks, to recognise the task on a page."""

    def __init__(self, tasks: list[tuple[str, dict]], checks: list[AttentionCheck], expected: dict[str, list[int]]):
        self.tasks = tasks  # (kind, contract payload)
        self.checks = {c.instruction: c.id for c in checks}
        self.expected = expected  # by check id: the units that pass it

    @classmethod
    def from_study(cls, study) -> Catalog:
        """Build the catalog from a ``study_app.models.Study`` row."""
        return cls([(t.kind, t.payload) for t in study.tasks], study.definition.attention_checks, study.expected_units)

    def identify(
        self, units: dict[int, str], selectable: list[int], instruction: str | None, tutorial: bool
    ) -> tuple[dict, list[int] | None]:
        """Return the payload shown on a page and, for an attention check, the units that pass it.

        A page is matched by its unit texts (``units``: index -> text) and its selectable range, so
        two tasks on one snippet with different targets are told apart.
        """
        if instruction is not None:
            check = self.checks.get(instruction)
            if check is None:
                raise SimulationError(f"unknown attention check {instruction!r}")
            return next(p for _, p in self.tasks if p["task_id"] == check), self.expected[check]
        kind = "tutorial" if tutorial else "main"
        for k, p in self.tasks:
            target = p["target"]["unit_index"]
            # the page ends with the target token, which may be only the start of its unit
            if (
                k == kind
                and selectable == list(selectable_of(p))
                and len(p["units"]) > max(units, default=-1)
                and all(
                    text == p["units"][i]["text"] if i != target else p["units"][i]["text"].startswith(text)
                    for i, text in units.items()
                )
            ):
                return p, None
        raise SimulationError(f"the {kind} task on the page matches no task of the study")


class PageParser(HTMLParser):
    """Collect the unit texts (``span[data-i]``), the state JSON, the attention instruction and form inputs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.units: dict[int, str] = {}
        self.inputs: list[dict] = []
        self.state_json = ""
        self.instruction: str | None = None
        self.completion: str | None = None
        self._stack: list[tuple[str, object]] = []  # (tag, what its text goes to)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        target = None
        if tag == "span" and "data-i" in a:
            target = ("unit", int(a["data-i"]))
            self.units[target[1]] = ""
        elif tag == "script" and a.get("id") == "state":
            target = ("state", None)
        elif tag == "p" and "attention" in a.get("class", "").split():
            target = ("instruction", None)
            self.instruction = ""
        elif tag == "p" and a.get("data-testid") == "completion-code":
            target = ("completion", None)
            self.completion = ""
        elif tag in ("input", "textarea", "select"):
            self.inputs.append(a)
        if tag not in ("input", "meta", "br", "img", "link"):
            self._stack.append((tag, target))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, target in reversed(self._stack):
            if target is None:
                continue
            kind, key = target
            if kind == "unit":
                self.units[key] += data
            elif kind == "state":
                self.state_json += data
            elif kind == "instruction":
                self.instruction += data
            else:
                self.completion += data
            return


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    if match is None:
        raise SimulationError("no CSRF token on the page")
    return unescape(match.group(1))


def choose(settings: Settings, selectable: list[int], model: list[int], rng: random.Random) -> list[int]:
    """Return the units a bot selects under its policy."""
    if settings.policy == "random":
        return [k for k in selectable if rng.random() < settings.rate]
    if settings.policy == "model":
        return sorted(model)
    if settings.policy == "noisy-model":
        chosen = set(model)
        return [k for k in selectable if (k in chosen) != (rng.random() < settings.noise)]
    raise ValueError(f"unknown policy {settings.policy!r}: choose one of {', '.join(POLICIES)}")


def fill_questionnaire(inputs: list[dict], rng: random.Random) -> dict[str, str]:
    """Answer every question of a served form: a random option, number within bounds, or text."""
    answers: dict[str, str] = {}
    radios: dict[str, list[str]] = {}
    for a in inputs:
        name = a.get("name", "")
        if not name.startswith("q_"):
            continue
        if a.get("type") == "radio":
            radios.setdefault(name, []).append(a["value"])
        elif a.get("type") == "number":
            answers[name] = str(rng.randint(int(a.get("min") or 0), int(a.get("max") or 30)))
        else:
            answers[name] = "simulated"
    answers.update({name: rng.choice(values) for name, values in radios.items()})
    return answers


class Bot:
    """One simulated participant."""

    def __init__(self, base_url: str, slug: str, catalog: Catalog, settings: Settings, seed: int, name: str):
        self.base = base_url.rstrip("/") + "/"
        self.slug = slug
        self.catalog = catalog
        self.settings = settings
        self.rng = random.Random(seed)
        self.thinking = random.Random(-seed - 1)  # its own generator: think times never change the answers
        self.http = requests.Session()
        self.result = BotResult(prolific_pid=name)

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        """Send a request, retrying connection errors, timeouts and 5xx answers with a growing pause.

        Retrying a POST is safe here: the answer API acknowledges a replayed answer without storing it,
        and a replayed consent (same enrol_token) returns the participant it enrolled.
        """
        url = urljoin(self.base, url)
        for attempt in range(self.settings.retries + 1):
            self.result.requests += 1
            try:
                resp = self.http.request(method, url, timeout=self.settings.timeout, **kwargs)
                if resp.status_code not in RETRY_STATUS:
                    return resp
            except (requests.ConnectionError, requests.Timeout):
                if attempt == self.settings.retries:
                    raise
            if attempt < self.settings.retries:
                self.result.retries += 1
                # jitter from the global generator: a retry must not change the bot's later answers
                time.sleep(min(0.1 * 2**attempt, 3.0) * (0.5 + random.random()))
        return resp

    def run(self) -> BotResult:
        """Take the study from the link to the end page; errors are recorded, not raised."""
        try:
            self._run()
        except StoppedError:
            self.result.stopped = True
        except (SimulationError, requests.RequestException) as err:
            self.result.error = f"{type(err).__name__}: {err}"
        return self.result

    def think(self) -> None:
        """Wait as a person reading the task would; stop if the run's deadline comes first."""
        low, high = self.settings.think_s
        pause = self.thinking.uniform(low, high) if high > 0 else 0.0
        deadline = self.settings.deadline
        if deadline is not None and time.monotonic() + pause >= deadline:
            time.sleep(max(0.0, deadline - time.monotonic()))
            raise StoppedError
        time.sleep(pause)

    def _run(self) -> None:
        params = {
            "PROLIFIC_PID": self.result.prolific_pid,
            "STUDY_ID": "SIMULATION",
            "SESSION_ID": self.result.prolific_pid,
        }
        page = self.request("GET", f"s/{self.slug}", params=params)
        enrol = next((i.get("value") for i in parse_page(page.text).inputs if i.get("name") == "enrol_token"), None)
        page = self.request(
            "POST",
            f"s/{self.slug}/consent",
            data={"choice": "agree", "csrf_token": csrf_token(page.text), "enrol_token": enrol},
        )
        for _ in range(200):  # far more pages than any study has: a loop guard
            path = urlsplit(page.url).path
            if page.status_code != 200:
                raise SimulationError(f"{path}: HTTP {page.status_code}")
            parsed = parse_page(page.text)
            if path.endswith("/end"):
                self.result.completion_code = (parsed.completion or "").strip()
                return
            if path.endswith("/questionnaire"):
                self.result.questionnaire = fill_questionnaire(parsed.inputs, self.rng)
                page = self.request(
                    "POST", page.url, data={**self.result.questionnaire, "csrf_token": csrf_token(page.text)}
                )
            elif parsed.state_json:
                page = self.task(page, parsed)
            else:
                raise SimulationError(f"{path}: unexpected page")
        raise SimulationError("too many pages")

    def task(self, page: requests.Response, parsed: PageParser) -> requests.Response:
        """Answer one phase of a task page (or leave the tutorial's feedback page)."""
        state = json.loads(parsed.state_json)
        token = csrf_token(page.text)
        if state["mode"] == "feedback":
            return self.request("POST", "tutorial", data={"csrf_token": token})
        self.result.public_id = state["storageKey"].split(":")[1]
        payload, expected = self.catalog.identify(
            {i: t for i, t in parsed.units.items() if t != "↵"},
            state["selectable"],
            parsed.instruction and parsed.instruction.strip(),
            tutorial=state["position"] == 0,
        )
        body = self.answer(state, payload, expected)
        self.think()
        started = time.perf_counter()
        resp = self.request("POST", state["answerUrl"], json=body, headers={"X-CSRFToken": token})
        if resp.status_code != 200 or not resp.json().get("ok"):
            raise SimulationError(
                f"answer to task {state['position']} refused: HTTP {resp.status_code} {resp.text[:200]}"
            )
        self.result.answer_latencies_ms.append((time.perf_counter() - started) * 1000)
        timing = SERVER_TIMING.search(resp.headers.get("Server-Timing", ""))
        if timing:
            self.result.answer_server_ms.append(float(timing.group(1)))
        self.result.answers.append(
            Answered(
                position=state["position"],
                phase=body["phase"],
                task_id=payload["task_id"],
                selected=sorted(body["selected"]),
                confidence=body["confidence"],
                would_predict=body["would_predict"],
                agreement=body["agreement"],
                active_ms=body["active_ms"],
            )
        )
        return self.request("GET", resp.json()["next"])

    def answer(self, state: dict, payload: dict, expected: list[int] | None) -> dict:
        """Return the JSON body a participant's browser would post for this page."""
        rng = self.rng
        body = {
            "phase": state["phase"],
            "active_ms": rng.randint(3000, 60000),
            "events": [],
            "confidence": None,
            "would_predict": None,
            "agreement": None,
        }
        if state["mode"] == "review":
            return {**body, "selected": state["selected"], "agreement": rng.randint(1, 5)}
        selectable = state["selectable"]
        if expected is not None:  # an attention check
            wrong = rng.random() < self.settings.attention_fail
            return {
                **body,
                "selected": [k for k in selectable if k not in expected][:1] if wrong else list(expected),
            }
        model = [k for k in payload["rationale"]["units"] if k in selectable]
        selected = choose(self.settings, selectable, model, rng)
        while len(selected) < min(state["minSelected"], len(selectable)):  # as a person would: pick one more
            selected = sorted(set(selected) | {rng.choice(selectable)})
        if state["position"] > 0:
            body.update(confidence=rng.randint(1, 5), would_predict=rng.choice(["yes", "no", "unsure"]))
        body["events"] = [
            {"kind": "toggle", "ts": int(time.time() * 1000), "unit": k, "selected": selected} for k in selected[:3]
        ]
        return {**body, "selected": selected}


def run_bots(
    base_url: str,
    slug: str,
    catalog: Catalog,
    settings: Settings,
    n: int,
    threads: int = 8,
    seed: int = 0,
    prefix: str = "b07",
    progress: bool = True,
    arrivals: list[float] | None = None,
) -> list[BotResult]:
    """Run ``n`` bots, ``threads`` at a time; return their results in bot order.

    Bot ``i`` is recruited as PROLIFIC_PID ``prefix`` + ``i`` in hex, 24 hex digits in all (the
    format the app accepts), so a bot's rows can be found by its ``prefix``. With ``arrivals``
    (seconds from now, one per bot) bot ``i`` opens the study link at ``arrivals[i]``: an open loop,
    where newcomers arrive whatever the server's pace (give enough ``threads`` for all at once).
    """
    if not re.fullmatch(r"[0-9a-f]{1,8}", prefix):
        raise ValueError(f"bot prefix {prefix!r} must be 1 to 8 hex digits (PROLIFIC_PIDs are 24 hex digits)")
    width = 24 - len(prefix)
    bots = [
        Bot(base_url, slug, catalog, settings, seed=seed * 100_003 + i, name=f"{prefix}{i:0{width}x}") for i in range(n)
    ]
    start = time.monotonic()

    def arrive(bot: Bot, at: float) -> BotResult:
        time.sleep(max(0.0, start + at - time.monotonic()))
        return bot.run()

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        futures = [pool.submit(arrive, b, arrivals[i] if arrivals else 0.0) for i, b in enumerate(bots)]
        for _ in tqdm(as_completed(futures), total=n, desc="bots", unit="bot", disable=None if progress else True):
            pass
    return [b.result for b in bots]
