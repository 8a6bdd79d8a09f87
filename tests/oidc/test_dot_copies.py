"""No silent copies of django-oauth-toolkit internals (house-in-order item 4).

The validator copies two DOT methods to save queries and overrides a few private ones; each is
listed beside the code in ``biblogin.oidc.validators``. These tests fail as soon as the installed
DOT is not the version the copies were made from, so an upgrade cannot leave a stale copy behind.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect

from oauth2_provider.oauth2_validators import OAuth2Validator

from biblogin.oidc import validators
from biblogin.oidc.validators import BibloginOAuth2Validator


def test_the_installed_django_oauth_toolkit_is_the_version_the_copies_were_made_from():
    """RFC 9700 §4.14.2 and RFC 8707 behaviour is DOT's: the copies must be of this DOT."""
    assert importlib.metadata.version("django-oauth-toolkit") == (
        validators.DOT_COPIED_FROM_VERSION
    ), "DOT changed: compare the methods in DOT_COPIES with the copies, redo them, update"


def test_each_copied_dot_method_is_unchanged_since_it_was_copied():
    for ours, (theirs, recorded) in validators.DOT_COPIES.items():
        assert hasattr(BibloginOAuth2Validator, ours), ours
        source = inspect.getsource(getattr(OAuth2Validator, theirs))
        digest = hashlib.sha256(source.encode()).hexdigest()
        assert digest == recorded, f"DOT's {theirs} changed: redo our {ours} from it"


def test_every_private_dot_method_the_validator_overrides_is_listed_and_still_exists():
    overridden = {
        name
        for name in vars(BibloginOAuth2Validator)
        if name.startswith("_") and not name.startswith("__") and hasattr(OAuth2Validator, name)
    }
    assert overridden == set(validators.DOT_PRIVATE_OVERRIDES)
    # A private method DOT renamed or dropped would leave our override silently unused.
    missing = [n for n in validators.DOT_PRIVATE_OVERRIDES if not hasattr(OAuth2Validator, n)]
    assert not missing, missing
