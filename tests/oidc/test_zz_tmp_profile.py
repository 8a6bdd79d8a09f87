import base64, io, time, cProfile, pstats, json
import pytest
from django.test import Client as Browser
from tests.oidc_flow import OIDCFlow
from biblogin.oidc.hotpath.entry import lean_response

pytestmark = pytest.mark.django_db

def env(path, method, body=b"", auth=None, ctype="application/x-www-form-urlencoded"):
    e = {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": "", "HTTP_HOST": "testserver",
         "SERVER_NAME": "testserver", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
         "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": ctype if body else ""}
    if auth: e["HTTP_AUTHORIZATION"] = auth
    return e

def test_profile(demo):
    from django.core import signals
    from django.db import close_old_connections
    portal = OIDCFlow.portal(Browser())
    tokens = portal.login_library(agency_id="710100", user_id="1000001", pin="1234")
    auth = portal._client_auth()["HTTP_AUTHORIZATION"]
    rt = tokens["refresh_token"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    def refresh():
        nonlocal rt
        st, h, b = lean_response(env("/login/token/", "POST", f"grant_type=refresh_token&refresh_token={rt}".encode(), auth))
        d = json.loads(b); rt = d["refresh_token"]; return d
    def userinfo(at):
        st, h, b = lean_response(env("/login/userinfo/", "GET", auth="Bearer " + at)); assert st.startswith("200"), b
    for _ in range(20): d = refresh()
    n = 200
    t = time.process_time()
    for _ in range(n): d = refresh()
    rt_ms = (time.process_time() - t) * 1000 / n
    t = time.process_time()
    for _ in range(n): userinfo(d["access_token"])
    ui_ms = (time.process_time() - t) * 1000 / n
    print(f"\nREFRESH {rt_ms:.2f} ms  USERINFO {ui_ms:.2f} ms")
    pr = cProfile.Profile(); pr.enable()
    for _ in range(n): d = refresh()
    pr.disable(); pstats.Stats(pr).sort_stats("cumulative").print_stats(35)
    pr = cProfile.Profile(); pr.enable()
    for _ in range(n): userinfo(d["access_token"])
    pr.disable(); pstats.Stats(pr).sort_stats("tottime").print_stats(25)
