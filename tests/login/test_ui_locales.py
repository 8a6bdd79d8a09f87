"""OIDC ``ui_locales``: the login pages speak the language the client asks for.

The discovery document promises ``ui_locales_supported: ["da", "en"]``; a user's own choice on
the pages (the language switch) still wins.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client as Browser
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.oidc_flow import OIDCFlow

pytestmark = pytest.mark.django_db


def _login_page(app: OIDCFlow, **extra: str) -> str:
    page = app.follow(app.start(**extra).response)
    assert page.status_code == 200
    return page.content.decode()


@pytest.mark.parametrize("ui_locales", ["en", "en-GB", "fr en-US da", "EN"])
def test_the_login_page_speaks_the_first_language_we_have_of_ui_locales(app, ui_locales):
    html = _login_page(app, ui_locales=ui_locales)
    assert '<html lang="en"' in html


@pytest.mark.parametrize("ui_locales", ["da", "da en", "fr", "", "x-klingon"])
def test_without_english_first_in_ui_locales_the_pages_stay_danish(app, ui_locales):
    html = _login_page(app, ui_locales=ui_locales)
    assert '<html lang="da"' in html


def test_the_users_own_choice_of_language_wins_over_the_clients(app, browser):
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "da"
    html = _login_page(app, ui_locales="en")
    assert '<html lang="da"' in html


def test_the_library_form_after_the_picker_keeps_the_clients_language(app):
    html = _login_page(app, ui_locales="en", agency="715700")
    assert '<html lang="en"' in html


# The demo data is only read here; each example gets a browser of its own.
@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text(max_size=600))
def test_any_ui_locales_value_is_only_a_preference_never_an_error(demo, value):
    app = OIDCFlow(Browser())
    page = app.follow(app.start(ui_locales=value.replace("\x00", "")).response)
    assert page.status_code == 200
