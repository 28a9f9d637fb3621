"""Lets a request in when it carries the peer's bearer token; django-scim2 answers 401 otherwise."""
import hmac
import os


class Service:
    """The caller, once its token matched: django-scim2 only asks whether it is authenticated."""
    is_authenticated = True
    is_anonymous = False
    pk = None


class BearerTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.token = os.environ.get("LETHE_PEER_TOKEN", "")

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if self.token and hmac.compare_digest(header, "Bearer " + self.token):
            request.user = Service()
        return self.get_response(request)
