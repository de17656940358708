"""Authentication backends."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class ThrottledLogins(AxesStandaloneBackend):
    """django-axes' lockout check for every login that comes through an HTTP request (the login page, the
    admin). Calls without a request (``manage.py`` code, ``Client.login`` in tests) are not a network attack
    surface; axes would refuse them outright, so they are left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
