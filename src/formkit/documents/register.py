"""The document-number register (文号登记簿), kept in SQLite.

Each notice gets the next number for its prefix and year (``石镇教复〔2024〕16号``).
The same student and form asking again gets the number already given; a number once
given is never given to anybody else, because the counter only moves forward.

Students are stored as an HMAC-SHA256 of their key (the ID number, or school|name|birth
date) under a random key kept in the register itself, never as the ID. The file is
created 0600. A register written by an older formkit (plain IDs) is migrated on open:
every stored key is replaced by its hash, so no number is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from formkit.core.errors import InputFileError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (prefix TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL,
                                     PRIMARY KEY (prefix, year));
CREATE TABLE IF NOT EXISTS assigned (prefix TEXT NOT NULL, year INTEGER NOT NULL, form TEXT NOT NULL,
                                     student TEXT NOT NULL, number INTEGER NOT NULL,
                                     PRIMARY KEY (prefix, year, form, student),
                                     UNIQUE (prefix, year, number));
CREATE TABLE IF NOT EXISTS issued (form TEXT NOT NULL, student TEXT NOT NULL, issue_date TEXT NOT NULL,
                                   doc_number TEXT NOT NULL DEFAULT '', deadline TEXT,
                                   PRIMARY KEY (form, student, issue_date, doc_number));
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
"""
_KEY = "student-hmac-key"


@dataclass(frozen=True)
class IssuedDocument:
    """A document that was produced for a student: which form, when, under which number."""

    form: str
    student: str
    issue_date: date
    doc_number: str = ""
    deadline: date | None = None


def default_register_path() -> Path:
    """``register.sqlite`` in the user's data directory (platformdirs)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("formkit", appauthor=False)) / "register.sqlite"


def format_number(prefix: str, year: int, number: int) -> str:
    """``石镇教复〔2024〕16号``."""
    return f"{prefix}〔{year}〕{number}号"


def _digest(key: bytes, student: str) -> str:
    return hmac.new(key, student.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _private_file(path: Path) -> None:
    """Create the register 0600 (it maps students to notices), or tighten an existing one to 0600."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    os.close(os.open(path, flags, 0o600))
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        with suppress(PermissionError):  # someone else's register: it stays as its owner set it
            os.chmod(path, mode & 0o700)


class NumberRegister:
    """Hands out document numbers; safe against concurrent batches (SQLite transactions)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _private_file(path)
            self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            # Overwrite freed pages, so a migrated plain ID does not linger in the file.
            self._db.execute("PRAGMA secure_delete=ON")
            # WAL: readers never block the batch that assigns numbers, and a commit costs one
            # append and one sync instead of rewriting pages through a rollback journal.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._key = self._load_key()
        except (sqlite3.Error, OSError) as exc:
            raise InputFileError(f"无法打开文号登记簿 {path}：{exc}。请换一个登记簿位置，或从备份恢复。", path=str(path),
                                 code="register") from None

    def _load_key(self) -> bytes:
        """The register's HMAC key, created on first use; plain keys of an old register are hashed."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value FROM meta WHERE name=?", (_KEY,)).fetchone()
            if row:
                db.execute("COMMIT")
                return bytes(row[0])
            key = secrets.token_bytes(32)
            db.execute("INSERT INTO meta(name, value) VALUES(?,?)", (_KEY, key))
            # No key yet means every stored student is an older formkit's plain key.
            old = db.execute("SELECT rowid, student FROM assigned").fetchall()
            for rowid, student in old:
                db.execute("UPDATE assigned SET student=? WHERE rowid=?", (_digest(key, str(student)), rowid))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if old:
            db.execute("VACUUM")  # rewrite the file: no page of it keeps the plain IDs
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # nor the write-ahead log
        return key

    def student_digest(self, student: str) -> str:
        """How ``student`` (an ID number or school|name|birth date) is stored in this register."""
        return _digest(self._key, student)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> NumberRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def number_for(self, prefix: str, year: int, form: str, student: str, *, dry_run: bool = False) -> int:
        """The number of ``student``'s ``form`` for ``prefix``/``year``: reused, or the next free one.

        With ``dry_run`` nothing is recorded and an unassigned student gets 0 ("to be assigned").
        """
        db = self._db
        student = self.student_digest(student)
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT number FROM assigned WHERE prefix=? AND year=? AND form=? AND student=?",
                (prefix, year, form, student),
            ).fetchone()
            if row:
                db.execute("COMMIT")
                return int(row[0])
            last = db.execute("SELECT last FROM counters WHERE prefix=? AND year=?", (prefix, year)).fetchone()
            if dry_run:
                db.execute("ROLLBACK")
                return 0
            number = (int(last[0]) if last else 0) + 1
            db.execute(
                "INSERT INTO counters(prefix, year, last) VALUES(?,?,?) "
                "ON CONFLICT(prefix, year) DO UPDATE SET last=excluded.last",
                (prefix, year, number),
            )
            db.execute("INSERT INTO assigned VALUES(?,?,?,?,?)", (prefix, year, form, student, number))
            db.execute("COMMIT")
            return number
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def numbers_for(self, requests: Iterable[tuple[str, int, str, str]], *, dry_run: bool = False,
                    issued: Callable[[list[int]], Iterable[IssuedDocument]] | None = None) -> list[int]:
        """:meth:`number_for` of every (prefix, year, form, student) in ``requests``, in ONE transaction.

        A whole batch's numbers are assigned under one write lock, so a second batch on the same
        register waits and then continues after the last number this one gave (never a gap, never
        a number twice). ``issued``, given the numbers, returns the documents to record (as
        :meth:`record_issue` would; ``.student`` is the plain key) in the same transaction.
        With ``dry_run`` nothing is recorded and unassigned students get 0. ``requests`` and the
        documents may be generators: a batch of 20,000 notices is never held as lists here.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            last: dict[tuple[str, int], int] = {}
            numbers: list[int] = []
            for prefix, year, form, key in requests:
                student = self.student_digest(key)
                row = db.execute(
                    "SELECT number FROM assigned WHERE prefix=? AND year=? AND form=? AND student=?",
                    (prefix, year, form, student),
                ).fetchone()
                if row:
                    numbers.append(int(row[0]))
                    continue
                if (prefix, year) not in last:
                    found = db.execute("SELECT last FROM counters WHERE prefix=? AND year=?", (prefix, year)).fetchone()
                    last[(prefix, year)] = int(found[0]) if found else 0
                if dry_run:
                    numbers.append(0)
                    continue
                number = last[(prefix, year)] = last[(prefix, year)] + 1
                db.execute("INSERT INTO assigned VALUES(?,?,?,?,?)", (prefix, year, form, student, number))
                numbers.append(number)
            if dry_run:
                db.execute("ROLLBACK")
                return numbers
            db.executemany(
                "INSERT INTO counters(prefix, year, last) VALUES(?,?,?) "
                "ON CONFLICT(prefix, year) DO UPDATE SET last=excluded.last",
                [(prefix, year, n) for (prefix, year), n in last.items()],
            )
            if issued is not None:
                self._insert_issued(issued(numbers))
            db.execute("COMMIT")
            return numbers
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _insert_issued(self, documents: Iterable[IssuedDocument]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO issued(form, student, issue_date, doc_number, deadline) VALUES(?,?,?,?,?)",
            ((d.form, self.student_digest(d.student), d.issue_date.isoformat(), d.doc_number,
              d.deadline.isoformat() if d.deadline else None) for d in documents),
        )

    def record_issue(self, form: str, student: str, issue_date: date, doc_number: str = "",
                     deadline: date | None = None) -> None:
        """Remember that ``form`` was issued to ``student`` (idempotent: producing it again adds nothing)."""
        student = self.student_digest(student)
        self._db.execute(
            "INSERT OR IGNORE INTO issued(form, student, issue_date, doc_number, deadline) VALUES(?,?,?,?,?)",
            (form, student, issue_date.isoformat(), doc_number, deadline.isoformat() if deadline else None),
        )

    def issued_documents(self, student: str | None = None) -> list[IssuedDocument]:
        """Issued documents (of ``student``, or all), oldest first; ``.student`` is the stored digest."""
        if student is not None:
            student = self.student_digest(student)
        sql = "SELECT form, student, issue_date, doc_number, deadline FROM issued"
        rows = (self._db.execute(sql + " WHERE student=? ORDER BY issue_date", (student,)) if student is not None
                else self._db.execute(sql + " ORDER BY issue_date"))
        return [IssuedDocument(form, who, date.fromisoformat(day), number, date.fromisoformat(dl) if dl else None)
                for form, who, day, number, dl in rows]
