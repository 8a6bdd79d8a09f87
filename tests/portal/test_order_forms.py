"""The order flow's forms are built on the registry's one list of user parameters (R-VIP-7)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

from biblogin.portal import forms as portal_forms
from biblogin.portal.forms import OrderContactForm, OrderWithoutLoginForm
from biblogin.portal.order_flow import contact_fields
from biblogin.registry.selectors import agency_order_user_parameters
from biblogin.registry.services import order_user_parameters_set
from tests.registry.builders import research_library

pytestmark = pytest.mark.django_db

SRC = Path(settings.BASE_DIR) / "src" / "biblogin"


def _configure(*items: tuple[str, bool]):
    agency = research_library(accepts_orders_without_login=True)
    order_user_parameters_set(
        agency=agency,
        parameters=[
            {"type": t, "required": r, "help_text_da": f"{t} hjælp", "help_text_en": f"{t} help"}
            for t, r in items
        ],
    )
    return agency


def test_the_guest_form_shows_exactly_the_registrys_fields_in_order_R_VIP_7() -> None:
    agency = _configure(
        ("userName", True), ("barcode", False), ("cardno", True), ("userMail", False)
    )
    form = OrderWithoutLoginForm(agency=agency)
    registry = agency_order_user_parameters(agency=agency)
    assert [f.type for f in registry] == ["cardno", "userName", "userMail"]
    assert list(form.fields) == [*(f.type for f in registry), "remember"]
    assert [form.fields[f.type].required for f in registry] == [True, True, False]
    assert form.fields["cardno"].help_text == "cardno hjælp"


def test_the_portal_keeps_no_copy_of_the_registrys_order_fields_rule_R_VIP_7() -> None:
    assert not hasattr(portal_forms, "order_fields")


def test_a_logged_in_user_is_asked_the_contact_fields_none_required_R_PORTAL_15() -> None:
    agency = _configure(
        ("cpr", True),
        ("userTelephone", True),
        ("userName", True),
        ("userDateOfBirth", True),
        ("userAddress", False),
        ("userMail", True),
    )
    fields = contact_fields(agency=agency)
    assert [f.type for f in fields] == ["userTelephone", "userAddress", "userMail"]
    form = OrderContactForm(
        {"x-userMail": "a@", "x-userTelephone": "", "x-userAddress": ""},
        fields=fields,
        profile=True,
        prefix="x",
    )
    assert not form.is_valid() and list(form.errors) == ["userMail"]
    empty = OrderContactForm({}, fields=fields, profile=False, prefix="x")
    assert empty.is_valid()
    assert empty.values() == {"userTelephone": "", "userAddress": "", "userMail": ""}


def _queries_models(path: Path) -> list[str]:
    """The ``<Model>.objects`` uses in a module."""
    tree = ast.parse(path.read_text("utf-8"))
    return [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "objects"
    ]


def test_portal_views_query_no_models_themselves() -> None:
    """DESIGN.md convention 2: views call one service or selector; the reads live there."""
    found = [
        hit for view in (SRC / "portal" / "views").glob("*.py") for hit in _queries_models(view)
    ]
    assert found == []


def test_userdata_reads_registry_models_only_through_registry_selectors() -> None:
    for module in (SRC / "userdata").glob("*.py"):
        tree = ast.parse(module.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "objects":
                assert not (
                    isinstance(node.value, ast.Name)
                    and node.value.id in {"Agency", "Branch", "OrderUserParameter"}
                ), f"{module.name}:{node.lineno}"
