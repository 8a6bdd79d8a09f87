"""Profile the server's login path with py-spy (sampling, attached to the running workers).

py-spy samples every gunicorn worker (``--subprocesses``) while the driver runs login flows;
idle threads are left out, so the samples are where the workers spent CPU (and waited on the
database inside a call). The raw output (collapsed stacks) is summed up two ways: self time per
function (the leaf frame), and inclusive time per function (anywhere on the stack).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*)\)$")
# Frames below which nothing is the request's own work (the worker's loop, the server, WSGI).
_NOISE = (
    "gunicorn/", "granian/", "asyncio/", "threading.py", "concurrent/futures", "socketserver",
    "selectors.py",
)  # fmt: skip
# Where the login path's time goes, by what the code is doing (a sample counts once in each
# category whose frame is on its stack; the categories overlap where calls nest).
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("Argon2id PIN verify", r"^verify_secret \(argon2/"),
    (
        "SQL executing in the database driver (sqlite3, psycopg)",
        r"^(SQLiteCursorWrapper\.execute|"
        r"Cursor\.execute|ClientCursorMixin\._execute_send|Connection\.wait) \(",
    ),
    (
        "ORM: building and compiling SQL",
        r"^(SQLCompiler\.as_sql|Query\.build_filter|"
        r"QuerySet\._filter_or_exclude) \(django/",
    ),
    (
        "new DB connection per request",
        r"^(DatabaseWrapper\.get_new_connection|"
        r"BaseDatabaseWrapper\.connect) \(",
    ),
    (
        "sessions (load + save)",
        r"^(SessionStore|SessionBase)\.(load|save|_get_session|"
        r"cycle_key|create) \(",
    ),
    ("template rendering", r"^Template\.render \(django/template/base"),
    ("RS256 signing and JWT (jwcrypto)", r"\(jwcrypto/"),
    ("client authentication (secret hash)", r"^(check_password|PBKDF2PasswordHasher\.verify) "),
    ("borrower check (incl. Argon2)", r"^borrower_check \(biblogin/"),
    ("claims (R-LOGIN-8)", r"^claims_for \(biblogin/"),
    ("throttling (R-LOGIN-5)", r"^throttle_\w+ \(biblogin/"),
    ("audit log (R-LOGIN-13)", r"^audit_event_record \(biblogin/"),
    ("Django cache (throttling, DB or Redis)", r"^(DatabaseCache|RedisCache)\.\w+ \("),
    ("oauthlib/DOT: authorization endpoint", r"^AuthorizationView\.get \(biblogin/"),
    ("oauthlib/DOT: token endpoint", r"^TokenView\.post \("),
    ("oauthlib/DOT: userinfo endpoint", r"^UserInfoView\.get \("),
    ("library login view (POST)", r"^library \(biblogin/login/views"),
    (
        "server: WSGI environ and access log (biblogin.common.server)",
        r"^(wsgi_environ \(biblogin/common/server|Logger\._log \(logging/)",
    ),
    (
        "gunicorn request I/O and access log",
        r"^(Response\.write|Response\.send_headers|"
        r"Logger\.access|ThreadWorker\.finish_request) \(",
    ),
)


def py_spy() -> str | None:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    return found or shutil.which("py-spy")


def record_start(pid: int, out: Path, seconds: int, rate: int = 250) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` and its children for ``seconds``; returns the py-spy process."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    argv = [exe, "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
    argv += ["--function", "--rate", str(rate), "--duration", str(seconds), "--output", str(out)]
    argv += ["--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass
class ProfileSummary:
    samples: int
    self_top: list[tuple[str, float]]
    inclusive_top: list[tuple[str, float]]
    categories: list[tuple[str, float]]

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "categories": [[name, round(pct, 1)] for name, pct in self.categories],
            "self_top": [[name, round(pct, 1)] for name, pct in self.self_top],
            "inclusive_top": [[name, round(pct, 1)] for name, pct in self.inclusive_top],
        }


def _frame_name(frame: str) -> str | None:
    match = _FRAME.match(frame.strip())
    if match is None:
        return None
    path = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/", "lib/python3.12/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def summarise(raw: Path, *, top: int = 20) -> ProfileSummary:
    """Sum a py-spy raw file into self and inclusive percentages of all samples."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    patterns = [(label, re.compile(pattern)) for label, pattern in CATEGORIES]
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [name for f in stack.split(";") if (name := _frame_name(f))]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        on_stack = set(frames)
        for name in on_stack:
            inclusive[name] += count
        for label, pattern in patterns:
            if any(pattern.search(name) for name in on_stack):
                categories[label] += count

    def pct(counter: Counter[str], keep: bool) -> list[tuple[str, float]]:
        rows = [
            (name, 100 * n / total)
            for name, n in counter.most_common()
            if keep or not any(noise in name for noise in _NOISE)
        ]
        return rows[:top]

    if total == 0:
        return ProfileSummary(samples=0, self_top=[], inclusive_top=[], categories=[])
    return ProfileSummary(
        samples=total,
        self_top=pct(self_time, keep=True),
        inclusive_top=pct(inclusive, keep=False),
        categories=[(label, 100 * categories[label] / total) for label, _p in CATEGORIES],
    )
