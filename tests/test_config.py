"""config.yaml: the shipped file is valid, and every bad file gets one line naming the field."""

import pytest

from assistant.config import DEFAULT_CONFIG, Config, load_config
from assistant.errors import DuetError


def test_shipped_config_is_the_working_default():
    shipped = load_config(DEFAULT_CONFIG)
    assert shipped == Config()  # it says a key left out takes the value it shows
    assert shipped.work.minutes == 45 and shipped.work.announce_remaining == [10, 2]
    assert shipped.debrief.questions == Config().debrief.questions
    assert shipped.listening.trailing_silence == 0.7
    assert shipped.listening.max_pause == 3.5


def test_names_are_kept_composed(tmp_path):
    """An editor may save "Zoë" as "Zoe" and a combining diaeresis: counted a character more, it
    pushed the tables' columns out (a QA pass). Names are kept in Unicode's composed form."""
    path = tmp_path / "c.yaml"
    path.write_text("partners: [\"Zoe\\u0308\", \"Jose\\u0301\"]\n", encoding="utf-8")
    assert load_config(path).partners == ["Zo\u00eb", "Jos\u00e9"]
    path.write_text('partners: ["Zoe\\u0308' + "x" * 37 + '", Sam]\n', encoding="utf-8")  # 40 once composed
    assert len(load_config(path).partners[0]) == 40


def test_an_empty_file_is_all_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# nothing\n")
    assert load_config(path) == Config()


@pytest.mark.parametrize(
    "text,expected",
    [
        ("work: {minuts: 30}", "unknown setting 'work.minuts'; did you mean 'minutes'?"),
        ("partner: [A, B]", "did you mean 'partners'?"),
        ("work: {minutes: -5}", "'work.minutes': Input should be greater than 0"),
        ("listening: {answer_timeout: soon}", "'listening.answer_timeout': Input should be a valid number"),
        ("listening: {answer_timeout: true}", "'listening.answer_timeout': Input should be a number, not true"),
        ("work: {minutes: yes}", "'work.minutes': Input should be a number, not true or false"),
        ("checkin: {questions: []}", "'checkin.questions': List should have at least 1 item"),
        ("partners: [Ana]", "'partners': List should have at least 2 items"),
        ("partners: [Ana, '']", "'partners.1'"),
        ("partners: [Ana, ana]", "the two partners need different names"),
        ("partners: [Zoë, Zoe]", "the two partners need different names"),
        ("work: 20", "'work' is a section: write its settings under it (key: value), or leave it out (found 20)"),
        ("partners: [Mary-Kate, Mary Kate]", "the two partners need different names"),
        ("speech: {answers: cloud}", "'speech.answers': Input should be 'auto', 'vosk', 'whisper', 'moonshine' or 'pocketsphinx'"),
        ("commands: {extend: [add minutes]}", "'add minutes': {n}, where the number of minutes goes, is in it nowhere"),
        # the phrase named, and {n} once (a QA pass: "{n} and {n}" taken, "{N}" in a list of four)
        ("commands: {extend: ['{n} more minutes', '{n} and {n}']}", "'{n} and {n}': {n}, where the number of minutes goes, is in it twice"),
        ("commands: {extend: ['{n} more minutes', 'Add {N} mins!']}", "'Add {N} mins!': {n}"),
        ("listening: {wake_word: pause}", "'pause' is itself a command phrase"),
        ("listening: {wake_word: please}", "'please' is a word Duet drops around a command"),
        ("partners: [Ana, Both]", "'Both' is how the journal names answers given together"),
        ("debrief: {together: ['What next?', 'what next?']}", "is asked twice"),
        # found in a QA pass: each was accepted, and the command then fired on "okay" and "um",
        # never fired, or made another command impossible
        ("commands: {stop: [стоп]}", "stop: 'стоп' has no a-z letters or digits Duet can match"),
        ("commands: {repeat: ['']}", "repeat: '' has no a-z letters"),
        ("commands: {resume: [okay]}", "resume: 'okay' is only words Duet drops around a command"),
        ("commands: {pause: [stop], stop: [stop]}", "'stop' is a phrase of both pause and stop: give each its own"),
        ("commands: {pause: ['pause for {n} minutes']}", "{n} stands for minutes in extend phrases only"),
        ("listening: {wake_word: компьютер}", "'компьютер' has no a-z letters or digits Duet can match"),
        ("partners: [Mia, Noah]\npartners: [Ana, Ben]\n", "line 2: 'partners' is given twice (keep one)"),
        ("checkin: {questions: ['How are you?', '']}", "'checkin.questions.1': is blank"),
        ("debrief: {together: ['  ']}", "'debrief.together.0': is blank"),
        ("partners: [Ana, '   ']", "'partners.1': is blank"),
        ("checkin:\n  questions: [Hi]\nwork: {minutes: 5, minutes: 6}\n", "line 3: 'minutes' is given twice"),
        ("work: [45", "line 1"),
        ("- just a list", "the top level must be a mapping"),
        ("listening: {max_pause: 0.1, trailing_silence: 2}", "max_pause (0.1 s) must be at least trailing_silence (2 s)"),
        ("checkin: {questions: ['What do you intend?', 'what do you  intend?']}",
         "'checkin.questions': 'what do you  intend?' is asked twice: keep it once"),
        ("listening: {answer_timeout: 0.01}", "'listening.answer_timeout': Input should be greater than or equal to 1"),
    ],
)
def test_bad_config_is_one_line_naming_the_problem(tmp_path, text, expected):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(DuetError) as err:
        load_config(path)
    message = str(err.value)
    assert expected in message and "\n" not in message and str(path) in message


def test_a_key_left_empty_takes_its_default(tmp_path):
    """Found in a QA pass: ``work:`` with its lines commented out was refused with "Input should
    be a valid dictionary or instance of WorkConfig"."""
    path = tmp_path / "c.yaml"
    path.write_text("partners:\nwork:\n  # minutes: 30\ncheckin:\n  questions:\nlistening: {wake_word: }\n")
    assert load_config(path) == Config()


def test_missing_config_file_says_what_to_do(tmp_path):
    with pytest.raises(DuetError, match="not found: pass an existing file with --config"):
        load_config(tmp_path / "absent.yaml")


def test_unreadable_config_says_what_to_do(tmp_path):
    """Found in a QA pass: a folder or a file in another encoding gave the OS's words only."""
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfepartners: [A, B]\n")
    for path, expected in [(tmp_path, "is a folder: pass a YAML file with --config"),
                           (binary, "is not UTF-8 text: save it as UTF-8")]:
        with pytest.raises(DuetError, match=expected):
            load_config(path)


def test_a_relative_journal_is_beside_the_config(tmp_path, monkeypatch):
    """Found in a QA pass: read from the current folder, one config wrote a journal from one
    folder and found none from another."""
    folder = tmp_path / "couple"
    folder.mkdir()
    path = folder / "c.yaml"
    path.write_text("journal: data/j.json\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(path.relative_to(tmp_path)).journal == folder / "data" / "j.json"
    path.write_text("journal: ~/j.json\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_config(path).journal == tmp_path / "j.json"
    path.write_text("journal:\n")
    assert load_config(path).journal is None
