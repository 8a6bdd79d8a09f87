"""A person in a browser: what they click and type, what they see; axe-core on every page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.axe import RUNS

SERIOUS = {"serious", "critical"}


@dataclass
class A11yLog:
    """Every page checked with axe-core, and what it found (serious/critical fail the test)."""

    checked: list[str] = field(default_factory=list)


class User:
    def __init__(
        self,
        *,
        context: BrowserContext,
        base_url: str,
        broker_url: str,
        a11y: A11yLog,
        screenshots: Path | None,
    ) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.csp_violations: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                self.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        self.base_url = base_url
        self.broker_url = broker_url
        self.a11y = a11y
        self.screenshots = screenshots

    # -- seeing ---------------------------------------------------------------------------------

    @property
    def path(self) -> str:
        url = self.page.url
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def text(self) -> str:
        return re.sub(r"\s+", " ", self.page.locator("body").inner_text())

    def heading(self) -> str:
        return self.page.locator("h1").first.inner_text().strip()

    def header(self) -> Any:
        return self.page.locator("header.site-header")

    def check(self) -> None:
        """Run axe-core on this page of ours: no serious or critical violations."""
        self.page.wait_for_load_state("load")
        if not self.page.url.startswith(self.base_url):
            return  # the test MitID broker is a third party's page
        violations = RUNS.violations(self.page)
        # The issue asks for no serious or critical violations; we hold ourselves to none at
        # all of WCAG 2.1 A/AA, like the login platform's own browser tests.
        bad = violations
        self.a11y.checked.append(self.path.split("?")[0])
        assert not bad, "axe-core on {}: {}".format(
            self.path,
            [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad],
        )

    def shot(self, name: str) -> None:
        """A full-page picture into var/screenshots/ (none when screenshots are off)."""
        if self.screenshots is None:
            return
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)

    # -- doing ----------------------------------------------------------------------------------

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.check()

    def click(self, name: str, *, role: str = "link") -> None:
        with self.page.expect_navigation():
            self.page.get_by_role(role, name=name, exact=True).first.click()
        self.check()

    def press(self, name: str) -> None:
        self.click(name, role="button")

    def choose_library(self, query: str, library: str) -> None:
        """At the portal's "Log ind": search, then choose the library."""
        self.goto("/")
        with self.page.expect_navigation():
            self.header().get_by_role("link", name="Log ind").click()
        self.check()
        expect(self.page.locator("h1")).to_have_text("Log ind")
        self.page.get_by_label("Søg efter dit bibliotek").fill(query)
        with self.page.expect_navigation():
            self.page.locator("main").get_by_role("button", name="Søg").click()
        self.check()
        self.click(library)

    def type_pin(self, user_id: str, pin: str) -> None:
        """At the login platform's library login: type user ID and PIN."""
        assert self.path.startswith("/login/bibliotek/"), self.path
        self.page.locator("input[name=user_id]").fill(user_id)
        self.page.get_by_label("Pinkode").fill(pin)
        with self.page.expect_navigation():
            self.page.locator("main form").get_by_role("button", name="Log ind").click()
        self.check()

    def library_login(self, query: str, library: str, user_id: str, pin: str) -> None:
        self.choose_library(query, library)
        self.type_pin(user_id, pin)

    def at_mitid(self, person: str) -> None:
        """At the test MitID broker: be this person."""
        self.page.wait_for_url(self.broker_url + "/**")
        self.page.locator("input[name=sub]").fill(person)
        self.page.get_by_role("button", name="Authorize").click()
        self.page.wait_for_url(self.base_url + "/**")
        self.page.wait_for_load_state()
        self.check()

    def mitid_login(self, person: str) -> None:
        self.goto("/log-ind/")
        self.page.get_by_role("link", name="Log ind med MitID").first.click()
        self.at_mitid(person)

    def logout(self) -> None:
        with self.page.expect_navigation():
            self.header().get_by_role("button", name="Log ud").click()
        if self.path.startswith("/login/logout"):
            # The login platform asks before ending its session when it cannot tell it is ours.
            self.check()
            with self.page.expect_navigation():
                self.page.locator("main form button[type=submit]").first.click()
        self.check()
