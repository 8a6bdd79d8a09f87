import os

from biblogin.common.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# R-SEC-3: Django's handler, with a request that survives a hostile charset; in front of it the
# lean path for code exchange, refresh and userinfo (issue 14), picked off by path.
_django = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after django.setup())
from django.utils.module_loading import import_string  # noqa: E402

application = import_string(settings.BIBLOGIN_WSGI_ENTRY)(_django)
