"""The configuration: ``config.yaml`` validated into typed settings.

Every setting has a working default, so an empty file is a valid configuration. A bad file is
refused with one line that names the field, what was found and what is allowed (with a
did-you-mean for misspelt keys), because a couple at the start of a session should not have to
read a traceback.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from assistant.errors import DuetError, check_loaded, load_yaml, yaml_problem

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.yaml"

MAX_WORK_MINUTES = 24 * 60
"""The longest work phase: a day. Longer is a typo (``--work 1e9``), not a plan."""


def _no_bool(value: object) -> object:
    """YAML reads ``yes``, ``true`` and ``on`` as booleans, and a boolean would pass for 1 (a QA
    pass's ``answer_timeout: true`` was a one-second timeout)."""
    if isinstance(value, bool):
        raise ValueError("Input should be a number, not true or false")
    return value


def _seconds(most: float, least: float = 0, *, zero: bool = False) -> Any:
    """A finite duration in seconds, within a range that makes sense for it."""
    low = Field(ge=least) if zero else Field(gt=least)
    return Annotated[float, BeforeValidator(_no_bool), low, Field(le=most, allow_inf_nan=False)]


def _one_line(value: str) -> str:
    """Names and phrases are said aloud and shown in tables: no line breaks or control characters."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not hold line breaks, tabs or other control characters")
    return value


def _said(value: str) -> str:
    """A question or name is said aloud: it needs words (a QA pass's blank question was asked as
    "Alex, ", and a blank name welcomed "Welcome,     and Sam")."""
    if not value.strip():
        raise ValueError("is blank: write something to say, or leave the key out for the default")
    return value


NAME_LENGTH = 40
"""Most characters in a partner's name (the tables and charts have room for them)."""


def _composed(value: str) -> str:
    """A name in Unicode's composed form (NFC), of at most ``NAME_LENGTH`` characters so: written
    "e" + a combining accent, as some editors save it, "Zoë" counted a character more and pushed
    the tables' columns out (a QA pass)."""
    value = unicodedata.normalize("NFC", value)
    if len(value) > NAME_LENGTH:
        raise ValueError(f"is {len(value)} characters long: a name may have at most {NAME_LENGTH}")
    return value


def _each_once(questions: list[str]) -> list[str]:
    """A question asked twice in one list is a slip of copy and paste (a QA pass's check-in asked
    "What do you intend?" twice of each partner, taken as it was)."""
    seen: set[str] = set()
    for question in questions:
        said = " ".join(question.lower().split())
        if said in seen:
            raise ValueError(f"'{question}' is asked twice: keep it once")
        seen.add(said)
    return questions


Line = Annotated[str, AfterValidator(_one_line)]
Said = Annotated[str, AfterValidator(_one_line), AfterValidator(_said)]
Name = Annotated[str, AfterValidator(_one_line), AfterValidator(_said), AfterValidator(_composed)]
Phrases = Annotated[list[Line], Field(min_length=1)]
Questions = Annotated[list[Said], Field(min_length=1), AfterValidator(_each_once)]
Minutes = Annotated[float, BeforeValidator(_no_bool), Field(gt=0, le=MAX_WORK_MINUTES, allow_inf_nan=False)]


# ---- command phrases, as what is said is compared with them (session.commands matches them)

WORD = re.compile(r"[a-z0-9']+")
"""A word as phrases and transcripts are compared (``normalize``)."""
POLITE = ("okay", "ok", "hey", "please", "so", "um", "uh")
"""Words dropped before a command ("okay, pause"); "please" and "thanks" after it too."""


def folded(text: str) -> str:
    return text.lower().replace("’", "'")


def normalize(text: str) -> str:
    """Lowercase words without punctuation: how phrases and transcripts are compared."""
    return " ".join(WORD.findall(folded(text)))


def strip_polite(words: str) -> str:
    """Normalized ``words`` without the polite words around a command."""
    parts = words.split()
    while parts and parts[0] in POLITE:
        parts.pop(0)
    while parts and parts[-1] in ("please", "thanks", "thank you"):
        parts.pop()
    return " ".join(parts)


def _normalize_phrase(phrase: str) -> str:
    """Normalize a configured phrase, keeping its ``{n}`` placeholder."""
    return " {n} ".join(normalize(part) for part in phrase.split("{n}")).strip()


def phrase_table(phrases: "CommandsConfig") -> list[tuple[str, str]]:
    """(command, phrase) for each command's phrases as what is said is compared with them
    (``normalize``d, and the polite words around a command dropped, as they are from what is
    said), longest first, so "repeat the question" wins over a shorter prefix.

    Raises ValueError for a phrase that could never be heard, or never be told apart: one with
    no a-z letters or digits (a QA pass's "стоп" matched "okay", "so" and "um"), one of polite
    words only ("okay"), ``{n}`` outside ``extend``, a phrase two commands share."""
    table: list[tuple[str, str]] = []
    owner: dict[str, str] = {}
    for name, plist in phrases.model_dump().items():
        for phrase in plist:
            said = strip_polite(_normalize_phrase(phrase))
            if not said.replace("{n}", "").strip():
                why = ("is only words Duet drops around a command (" + ", ".join(POLITE) + "): choose another"
                       if normalize(phrase) else "has no a-z letters or digits Duet can match: write it in English")
                raise ValueError(f"{name}: '{phrase}' {why}")
            if "{n}" in said and name != "extend":
                raise ValueError(f"{name}: '{phrase}': {{n}} stands for minutes in extend phrases only")
            if owner.setdefault(said, name) != name:
                raise ValueError(f"'{phrase}' is a phrase of both {owner[said]} and {name}: give each its own")
            if (name, said) not in table:
                table.append((name, said))
    return sorted(table, key=lambda item: -len(item[1]))


class Settings(BaseModel):
    """Base for every section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckinConfig(Settings):
    questions: Questions = ["How are you feeling as we begin?", "What do you intend for today?"]
    """Asked of each partner in turn, by name."""


class WorkConfig(Settings):
    minutes: Minutes = 45
    """Length of the work phase, at most a day."""
    announce_halfway: bool = True
    announce_remaining: Annotated[list[Minutes], Field(max_length=50)] = [10, 2]
    """Minutes left that are announced (a milestone at or past the whole length is skipped)."""


class DebriefConfig(Settings):
    questions: Questions = [
        "What worked well?",
        "What challenged us?",
        "What did we notice about our feelings?",
    ]
    """Asked of each partner in turn."""
    together: Annotated[list[Said], AfterValidator(_each_once)] = ["What is our next step?"]
    """Asked once of both; the answer to the first is the next step read back next session. May
    be empty: then no next step is asked, and none is read back."""


class ListeningConfig(Settings):
    answer_timeout: _seconds(3600, 1, zero=True) = 20
    """Silence before a question counts as unanswered (1 s to an hour: a QA pass's 0.01 s left
    every question unanswered before anyone could speak)."""
    trailing_silence: _seconds(30) = 0.7
    """Pause after which the answer so far is judged: finished, or wait (``turns.py``)."""
    max_pause: _seconds(60) = 3.5
    """Longest pause inside an answer that sounds unfinished (the hard upper bound)."""
    max_answer: _seconds(3600) = 90
    command_silence: _seconds(10) = 0.5
    mute_tail: _seconds(10, zero=True) = 0.3
    barge_in: Literal["auto", "on", "off"] = "off"
    """Stop the question that follows an answer when the partner goes on with that answer:
    ``auto`` where Duet can cancel its own voice's echo (PulseAudio's module-echo-cancel between
    the default devices), ``on`` always (a headset, or a microphone already echo-cancelled),
    ``off`` never (the default: through a looped-back speaker the canceller let Duet stop for its
    own voice in 1-2 of 5 questions, ``bargein.py``)."""
    vad_aggressiveness: Annotated[int, Field(ge=0, le=3)] = 2
    wake_word: Line | None = None
    """A word every command must start with ("computer, pause"); None: none. It must be a word
    the recognizer writes as it is spelled (``duet doctor`` checks it): Moonshine writes "duet"
    as "You have" or "Do it", and the commands after it are lost."""
    input_device: str | int | None = None
    output_device: str | int | None = None

    @field_validator("wake_word")
    @classmethod
    def _wake_word_heard(cls, word: str | None) -> str | None:
        if word is not None and word.strip() and not normalize(word):  # it would match every utterance
            raise ValueError(f"'{word}' has no a-z letters or digits Duet can match: write it in English "
                             "letters, or leave it empty")
        return word

    @field_validator("barge_in", mode="before")
    @classmethod
    def _yaml_switch(cls, value: Any) -> Any:
        """YAML reads a bare ``on`` / ``off`` as true / false."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @model_validator(mode="after")
    def _pauses_in_order(self) -> "ListeningConfig":
        """An unfinished answer is waited on longer than a finished one (a QA pass's config had
        ``max_pause`` 0.1 s under ``trailing_silence`` 2 s, taken as it was)."""
        if self.max_pause < self.trailing_silence:
            raise ValueError(f"max_pause ({self.max_pause:g} s) must be at least trailing_silence "
                             f"({self.trailing_silence:g} s): it is the longest pause inside an answer")
        return self


class SpeechConfig(Settings):
    answers: Literal["auto", "vosk", "whisper", "moonshine", "pocketsphinx"] = "auto"
    commands: Literal["auto", "spotter", "vosk", "pocketsphinx"] = "auto"
    vosk_model: str = "vosk-model-small-en-us-0.15"
    threads: Annotated[int, Field(ge=1, le=64)] = 2


class VoiceConfig(Settings):
    name: str | None = None
    rate: Annotated[int, Field(ge=60, le=400)] = 170
    volume: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 1.0


class CommandsConfig(Settings):
    """Whole phrases per command; ``{n}`` in an ``extend`` phrase stands for a number. The same as
    the shipped config.yaml, which says a key left out takes the value it shows (a QA pass's config
    without ``commands`` had no "skip this one")."""

    start_debrief: Phrases = ["start the debrief", "start debrief", "begin the debrief", "let's debrief"]
    time_left: Phrases = ["how much time is left", "how much time left", "what's the time left", "time check"]
    pause: Phrases = ["pause", "pause the session"]
    resume: Phrases = ["resume", "continue", "resume the session"]
    extend: Phrases = ["add {n} minutes", "add {n} minute", "give us {n} more minutes"]
    note: Phrases = ["take a note", "note"]
    repeat: Phrases = ["repeat that", "say that again"]
    stop: Phrases = ["stop the session", "end the session"]
    skip: Phrases = ["skip", "pass", "skip this one"]
    repeat_question: Phrases = ["repeat the question", "what was the question"]
    cancel: Phrases = ["cancel that", "undo that"]
    """Within ``UNDO_WINDOW`` s of a pause, added time, debrief start or note: put it back."""
    confirm: Phrases = ["yes", "yes stop"]
    """The answer to "Stop the session? Say yes to stop." (only this stops)."""

    @field_validator("extend")
    @classmethod
    def _extend_has_number(cls, phrases: list[str]) -> list[str]:
        for phrase in phrases:  # the phrase named, and why (a QA pass was shown the whole list)
            if phrase.count("{n}") != 1:
                said = "twice or more" if "{n}" in phrase else "nowhere (it is written {n}, in lowercase)"
                raise ValueError(f"'{phrase}': {{n}}, where the number of minutes goes, is in it {said}; "
                                 "put it in once")
        return phrases

    @model_validator(mode="after")
    def _phrases_heard(self) -> "CommandsConfig":
        phrase_table(self)  # refuses a phrase that could never be heard or told apart
        return self


class Config(Settings):
    """All of Duet's settings."""

    partners: Annotated[list[Name], Field(min_length=2, max_length=2)] = [
        "Alex",
        "Sam",
    ]
    """The two partners, by the names Duet calls them."""
    journal: Path | None = None
    """Journal file; None: the user's data directory."""
    celebrate: bool = True
    """Greeting and recap each say one earned sentence from the journal (a streak, a milestone...)."""

    @field_validator("journal", mode="before")
    @classmethod
    def _journal_not_blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: give a file path, or leave the key out for the default")
        return value
    checkin: CheckinConfig = CheckinConfig()
    work: WorkConfig = WorkConfig()
    debrief: DebriefConfig = DebriefConfig()
    listening: ListeningConfig = ListeningConfig()
    speech: SpeechConfig = SpeechConfig()
    voice: VoiceConfig = VoiceConfig()
    commands: CommandsConfig = CommandsConfig()

    @model_validator(mode="after")
    def _distinct_partners(self) -> "Config":
        a, b = (_plain(p) for p in self.partners)
        if a == b:  # "Zoë" and "Zoe" sound the same: the prompts could not tell them apart (a QA pass)
            raise ValueError("partners: the two partners need different names")
        if "both" in (a, b):  # the journal's name for answers given together (a QA pass)
            raise ValueError("partners: 'Both' is how the journal names answers given together: choose another name")
        return self

    @model_validator(mode="after")
    def _wake_word_apart(self) -> "Config":
        """A wake word that is a command ("pause") or a word Duet drops around one ("please")
        would make commands of talk, or be dropped itself (a QA pass's were taken)."""
        word = self.listening.wake_word
        said = normalize(word) if word else ""
        if said and not strip_polite(said):
            raise ValueError(f"listening.wake_word: '{word}' is a word Duet drops around a command "
                             f"({', '.join(POLITE)}): choose another, such as 'computer'")
        if said and any(phrase == said for _, phrase in phrase_table(self.commands)):
            raise ValueError(f"listening.wake_word: '{word}' is itself a command phrase: choose another, "
                             "such as 'computer'")
        return self

    def with_work_minutes(self, minutes: float) -> "Config":
        """A copy with another work-phase length (``--work``), checked like the config's."""
        if not math.isfinite(minutes) or minutes <= 0 or minutes > MAX_WORK_MINUTES:
            raise DuetError(f"--work must be more than 0 minutes and at most {MAX_WORK_MINUTES} (a day), "
                            f"got {minutes:g}")
        return self.model_copy(update={"work": self.work.model_copy(update={"minutes": minutes})})


def load_config(path: Path | None = None) -> Config:
    """Read and validate a config file; ``None`` reads the default ``config.yaml`` if present."""
    if path is None:
        path = DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None
    if path is None:
        return Config()
    data = _read_yaml(Path(path))
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise DuetError(f"{path}: {_describe(err, data)}") from None
    return _journal_beside(config, Path(path))


def _plain(name: str) -> str:
    """A name as it sounds, near enough: its letters and digits, case and accents aside ("Zoë"
    is "Zoe", "Mary-Kate" is "Mary Kate")."""
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if c.isalnum())


def _journal_beside(config: Config, path: Path) -> Config:
    """A relative ``journal`` is read from the config file's folder, and ``~`` as the home
    folder: read from the current folder, one config wrote a journal from one folder and found
    none from another (a QA pass)."""
    if config.journal is None:
        return config
    journal = config.journal.expanduser()
    if not journal.is_absolute():
        journal = path.absolute().parent / journal
    return config.model_copy(update={"journal": journal})


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DuetError(f"config file {path} not found: pass an existing file with --config") from None
    except IsADirectoryError:
        raise DuetError(f"config file {path} is a folder: pass a YAML file with --config") from None
    except UnicodeDecodeError:
        raise DuetError(f"config file {path} is not UTF-8 text: save it as UTF-8, "
                        f"or pass another file with --config") from None
    except OSError as err:
        raise DuetError(f"cannot read config file {path}: {err.strerror or err}; "
                        f"check that you may read it, or pass another file with --config") from None
    try:
        data = load_yaml(text)
    except RecursionError:
        raise DuetError(f"{path} is nested too deeply: check its structure") from None
    except yaml.YAMLError as err:
        raise DuetError(f"{path}: {yaml_problem(err)}; fix the YAML syntax there") from None
    check_loaded(data, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DuetError(f"{path}: the top level must be a mapping of settings (key: value)")
    return _without_empty(data)


def _without_empty(data: dict[str, Any]) -> dict[str, Any]:
    """The settings without the keys left empty: an empty key takes its default, as a key left
    out does (a QA pass's ``work:`` with its lines commented out was refused with "Input should be
    a valid dictionary or instance of WorkConfig")."""
    return {key: _without_empty(value) if isinstance(value, dict) else value
            for key, value in data.items() if value is not None}


def _describe(err: ValidationError, data: dict[str, Any]) -> str:
    """One line for the first problem: the dotted field, what is wrong, what is allowed."""
    first = err.errors()[0]
    loc = [str(part) for part in first["loc"]]
    field = ".".join(loc)
    if first["type"] == "extra_forbidden":
        return f"unknown setting '{field}'{_did_you_mean(loc)}"
    found = first.get("input")
    shown = "" if isinstance(found, dict) else f" (found {found!r})"
    if first["type"] == "model_type":  # pydantic names its class ("instance of WorkConfig": a QA pass)
        return f"'{field}' is a section: write its settings under it (key: value), or leave it out{shown}"
    message = first["msg"].removeprefix("Value error, ")
    return f"'{field}': {message}{shown}" if field else message


def _did_you_mean(loc: list[str]) -> str:
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        annotation = model.model_fields.get(part)
        if annotation is None or not isinstance(annotation.annotation, type):
            return ""
        if not issubclass(annotation.annotation, BaseModel):
            return ""
        model = annotation.annotation
    known = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{hint} (allowed here: {', '.join(known)})"
