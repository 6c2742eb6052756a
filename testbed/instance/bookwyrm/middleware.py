"""A minimal Content-Security-Policy header (upstream gets one from django-csp)."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        sources = " ".join(settings.CSP_DEFAULT_SRC)
        self.header = f"default-src {sources}; img-src {sources} data:"

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.header)
        return response
