"""The journal: every session's answers, notes and events, durable (``storage``), private, and
readable back (``export``). One index file plus one file per session."""

from assistant.journal.journal import (
    Journal,
    JournalError,
    SessionRecorder,
    default_journal_path,
)

__all__ = ["Journal", "JournalError", "SessionRecorder", "default_journal_path"]
