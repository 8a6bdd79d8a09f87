"""CPU time, SQL statements and a cProfile of each request of the login flow, in-process.

Drives the server's own WSGI entry (``config.wsgi.application``: the lean path in front of
Django, every middleware) in this one thread, as a browser and a relying party do: authorize →
login page → PIN POST → authorize → token → userinfo, plus a refresh. No server, no network,
no other load generator: the CPU figures are this process's ``process_time`` per request, so
they hardly move with other people's load. Run in a bench database's environment after
``setup_data.py`` (``--prepare`` does migrate, createcachetable and setup_data in a fresh
SQLite file, or in the database ``DATABASE_URL`` names):

    python -m bench.login_steps --prepare --work /tmp/steps            # SQLite
    python -m bench.login_steps --work /tmp/steps --flows 200 --profile 25

Prints a table per step (median and mean CPU ms, statements) and the Argon2id verify alone, so
the login ratio (Argon2 verify ÷ server CPU per flow) can be read off without a server.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.driver import pkce_pair

REPO = Path(__file__).resolve().parent.parent
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STEPS = ("1 authorize", "2 login page", "3 PIN login", "4 code", "5 token", "6 userinfo")
HOST = "127.0.0.1:8599"


def environment(work: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
        "BIBLOGIN_VAR_DIR": str(work / "var"),
        "BIBLOGIN_DEBUG": "0",
        "BIBLOGIN_BASE_URL": f"http://{HOST}",
        "BIBLOGIN_BORCHK_BULKHEAD": "64",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{work / 'steps.sqlite3'}")
    return env


def prepare(work: Path, borrowers: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    env = environment(work)
    biblogin = str(Path(sys.executable).parent / "biblogin")
    for command in ([biblogin, "migrate", "-v0"], [biblogin, "createcachetable"]):
        subprocess.run(command, env=env, check=True)
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "setup_data.py"), "--borrowers", str(borrowers),
         "--secret", secrets.token_urlsafe(24)],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    (work / "fixture.json").write_text(out.strip().splitlines()[-1])


class Browser:
    """Cookies and one WSGI call per request, against ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, url: str, *, data: dict[str, str] | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        body = urlencode(data).encode() if data is not None else b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8599",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": HOST,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            "HTTP_USER_AGENT": "bench-login-steps",
            "HTTP_ACCEPT_LANGUAGE": "da",
        }
        if data is not None:
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(body))
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for name, value in headers.items():
            environ[name] = value
        seen: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
            seen["status"] = int(status.split(" ", 1)[0])
            seen["headers"] = response_headers

        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        plain: dict[str, str] = {}
        for name, value in seen["headers"]:
            if name.lower() == "set-cookie":
                cookie, _, attributes = value.partition(";")
                key, _, val = cookie.partition("=")
                if "max-age=0" in attributes.lower() or not val.strip('"'):
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val
            else:
                plain[name.lower()] = value
        return seen["status"], plain, content


def measure(
    fixture: dict[str, Any], *, flows: int, profile_top: int, dump: Path | None = None
) -> dict[str, Any]:
    from django.db import connection

    from config.wsgi import application

    cpu: dict[str, list[float]] = {step: [] for step in (*STEPS, "refresh")}
    queries: dict[str, list[int]] = {step: [] for step in cpu}
    # CPU time, not wall time: other people's load must not show up as our cost.
    profiles = {step: cProfile.Profile(time.process_time) for step in cpu}
    counter = {"n": 0}

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        counter["n"] += 1
        return execute(sql, params, many, ctx)

    basic = (
        "Basic "
        + base64.b64encode(f"{fixture['client_id']}:{fixture['client_secret']}".encode()).decode()
    )

    def step(name: str, profiled: bool, call: Callable[[], Any]) -> Any:
        counter["n"] = 0
        profiler = profiles[name] if profiled else None
        with connection.execute_wrapper(count):
            started = time.process_time()
            if profiler is not None:
                profiler.enable()
            answer = call()
            if profiler is not None:
                profiler.disable()
            spent = time.process_time() - started
        if not profiled:
            cpu[name].append(spent * 1000)
            queries[name].append(counter["n"])
        return answer

    def one_flow(index: int, profiled: bool) -> None:
        browser = Browser(application)
        user_id, pin = fixture["users"][index % len(fixture["users"])]
        verifier, challenge = pkce_pair()
        query = urlencode(
            {
                "response_type": "code", "client_id": fixture["client_id"],
                "redirect_uri": fixture["redirect_uri"], "scope": "openid profile",
                "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
                "code_challenge": challenge, "code_challenge_method": "S256",
                "agency": fixture["agency_id"],
            }
        )  # fmt: skip
        status, headers, _ = step(
            "1 authorize", profiled, lambda: browser.request("GET", f"/login/authorize/?{query}")
        )
        assert status == 302, status
        form_url = headers["location"]
        status, _, page = step("2 login page", profiled, lambda: browser.request("GET", form_url))
        assert status == 200, status
        csrf = _CSRF.search(page.decode())
        data = {
            "csrfmiddlewaretoken": csrf.group(1) if csrf else "",
            "plan": parse_qs(urlsplit(form_url).query)["plan"][0],
            "user_id": user_id,
            "password": pin,
        }
        status, headers, content = step(
            "3 PIN login", profiled, lambda: browser.request("POST", form_url, data=data)
        )
        assert status == 302, (status, content[:300])
        resume = headers["location"]
        status, headers, _ = step("4 code", profiled, lambda: browser.request("GET", resume))
        assert status == 302, status
        code = parse_qs(urlsplit(headers["location"]).query)["code"][0]
        token = {
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": fixture["redirect_uri"], "code_verifier": verifier,
        }  # fmt: skip
        rp = Browser(application)
        status, _, content = step(
            "5 token",
            profiled,
            lambda: rp.request("POST", "/login/token/", data=token, HTTP_AUTHORIZATION=basic),
        )
        assert status == 200, (status, content)
        tokens = json.loads(content)
        bearer = f"Bearer {tokens['access_token']}"
        status, _, _ = step(
            "6 userinfo",
            profiled,
            lambda: rp.request("GET", "/login/userinfo/", HTTP_AUTHORIZATION=bearer),
        )
        assert status == 200, status
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        status, _, _ = step(
            "refresh",
            profiled,
            lambda: rp.request("POST", "/login/token/", data=refresh, HTTP_AUTHORIZATION=basic),
        )
        assert status == 200, status

    users = len(fixture["users"])
    for index in range(users):  # warm-up: every borrower's first login, caches, imports
        one_flow(index, profiled=False)
    for values in (*cpu.values(), *queries.values()):
        values.clear()
    for index in range(flows):
        one_flow(index, profiled=False)
    if profile_top:
        for index in range(min(flows, 40)):
            one_flow(index, profiled=True)

    argon2 = _argon2_ms(fixture)
    result: dict[str, Any] = {"flows": flows, "argon2_verify_ms": argon2, "steps": {}}
    for name in cpu:
        result["steps"][name] = {
            "cpu_ms_median": round(statistics.median(cpu[name]), 3),
            "cpu_ms_mean": round(statistics.fmean(cpu[name]), 3),
            "queries": round(statistics.fmean(queries[name]), 2),
        }
    flow_cpu = sum(result["steps"][s]["cpu_ms_mean"] for s in STEPS)
    result["flow_cpu_ms"] = round(flow_cpu, 2)
    result["flow_cpu_ms_without_argon2"] = round(flow_cpu - argon2, 2)
    result["flow_queries"] = round(sum(result["steps"][s]["queries"] for s in STEPS), 1)
    result["login_ratio_1b"] = round(argon2 / flow_cpu, 3)
    if profile_top:
        result["profiles"] = {}
        for name, profiler in profiles.items():
            if dump is not None:
                dump.mkdir(parents=True, exist_ok=True)
                profiler.dump_stats(dump / f"{name.replace(' ', '_')}.pstats")
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            # Where our own code, sessions, DOT and the middleware spend it, then the leaves.
            stats.sort_stats("cumulative").print_stats(
                r"biblogin/|sessions/|oauth2_provider/|oauthlib/|middleware|axes/|otp/",
                profile_top,
            )
            stats.sort_stats("tottime").print_stats(profile_top)
            result["profiles"][name] = out.getvalue()
    return result


def _argon2_ms(fixture: dict[str, Any], rounds: int = 30) -> float:
    from biblogin.integrations.library_systems.pins import pin_verify

    times = []
    for _ in range(rounds):
        started = time.process_time()
        assert pin_verify(stored_hash=fixture["pin_hash"], pin=fixture["pin"])
        times.append((time.process_time() - started) * 1000)
    return round(statistics.median(times), 2)


def render(result: dict[str, Any]) -> str:
    lines = ["| step | CPU ms (median) | CPU ms (mean) | SQL statements |", "|---|---|---|---|"]
    for name, row in result["steps"].items():
        lines.append(
            f"| {name} | {row['cpu_ms_median']:.2f} | {row['cpu_ms_mean']:.2f} "
            f"| {row['queries']:g} |"
        )
    lines.append(
        f"| **flow (1-6)** | | **{result['flow_cpu_ms']:.2f}** | **{result['flow_queries']:g}** |"
    )
    lines.append("")
    lines.append(
        f"Argon2id verify alone: {result['argon2_verify_ms']:.2f} ms; flow without it: "
        f"{result['flow_cpu_ms_without_argon2']:.2f} ms; ratio 1b (verify ÷ flow): "
        f"**{result['login_ratio_1b']:.2f}** ({result['flows']} flows)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--prepare", action="store_true", help="migrate and load the bench data")
    parser.add_argument("--borrowers", type=int, default=64)
    parser.add_argument("--flows", type=int, default=100)
    parser.add_argument("--profile", type=int, default=0, help="print the top N of cProfile")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--dump", type=Path, help="write each step's cProfile data here")
    args = parser.parse_args(argv)
    if args.prepare:
        prepare(args.work, args.borrowers)
        return 0
    os.environ.update(environment(args.work))
    fixture = json.loads((args.work / "fixture.json").read_text())
    result = measure(fixture, flows=args.flows, profile_top=args.profile, dump=args.dump)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    for name, text in result.get("profiles", {}).items():
        print(f"\n===== {name} =====\n{text}")
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
