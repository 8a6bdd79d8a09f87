import os

from biblogin.common.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# R-SEC-3: Django's handler, with a request that survives a hostile charset; in front of it the
# lean path for code exchange, refresh and userinfo (issue 14), picked off by path.
_django = get_wsgi_application()

from biblogin.oidc.hotpath.entry import lean_entry  # noqa: E402  (after django.setup())

application = lean_entry(_django)
