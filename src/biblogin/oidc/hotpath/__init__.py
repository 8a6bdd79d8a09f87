"""The lean path for the three hot requests: code exchange, refresh and userinfo (issue 14).

Picked off by path in the WSGI entry (``config/wsgi.py``) before Django's handler. It reads
and writes django-oauth-toolkit's own tables with a few raw SQL statements, so DOT's admin,
revocation, introspection and logout keep working on the same rows, and
``tests/oidc/test_hotpath_differential.py`` holds it to DOT's answers.

It answers only requests it understands completely: a well-formed form body of the expected
parameters, each once, printable ASCII, within length limits, on an allowed host. Anything
else (hostile input, other grant types, resource indicators, unusual client authentication)
is handed to Django unchanged, before anything was read or written, so the hostile-input
rules of R-SEC-3 and every DOT behaviour the lean path does not copy stay exactly DOT's.
"""
