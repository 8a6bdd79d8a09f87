import os

from biblogin.common.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# R-SEC-3: Django's handler, with a request that survives a hostile charset.
application = get_wsgi_application()
