"""Settings of the django-scim2 peer: an SQLite file under LETHE_PEER_DB, a bearer token from
LETHE_PEER_TOKEN, and django-scim2's own defaults for everything SCIM."""
import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "lethe-test-peer-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_scim",
    "lethepeer",
]
MIDDLEWARE = [
    "lethepeer.auth.BearerTokenMiddleware",
    "django_scim.middleware.SCIMAuthCheckMiddleware",
]
ROOT_URLCONF = "lethepeer.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LETHE_PEER_DB", os.path.join(BASE_DIR, "peer.sqlite3")),
    }
}
AUTH_USER_MODEL = "lethepeer.User"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "127.0.0.1",
    "SCHEME": "http",
    "AUTHENTICATION_SCHEMES": [
        {"type": "oauthbearertoken", "name": "Bearer token", "description": "A bearer token"},
    ],
    "GROUP_MODEL": "lethepeer.models.Group",
}
LOGGING = {"version": 1, "disable_existing_loggers": True}
