"""The ``biblogin`` command: the demo, the server, and every Django management command."""

from __future__ import annotations

import os
import sys

USAGE = """\
usage: biblogin <command> [options]

Commands:
  demo       install the demo data and start the demo on http://localhost:8000
             (the server, the test MitID broker, and a short guide)
  serve      run the production server (granian, worker processes with threads)
  loaddemo   load or refresh the demo data set (idempotent)

Run 'biblogin <command> --help' for a command's options.
Every Django management command works too (e.g. 'biblogin migrate', 'biblogin culrsync').
"""


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(USAGE)
        return
    if args[0] == "demo":
        # The demo serves plain HTTP on loopback: cookies cannot be marked Secure there.
        os.environ.setdefault("BIBLOGIN_SECURE_COOKIES", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["biblogin", *args])


if __name__ == "__main__":
    main()
