"""Only the login, the password reset pages, /healthz and /api/v1/* answer anonymous users."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

EXEMPT = {
    "login",
    "admin:login",  # the admin site's own login form, under the same limits
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield prefix + str(pattern.pattern), name, pattern.callback


def allowed(route: str, name: str) -> bool:
    return (
        name in EXEMPT
        or route.lstrip("^").startswith(("healthz", "api/v1/"))
        or name.split(":")[-1] == "healthz"
    )


def test_only_the_expected_views_are_exempt_from_login():
    exempt = [
        (route, name)
        for route, name, view in walk(get_resolver().url_patterns)
        if getattr(view, "login_required", True) is False
    ]
    unexpected = [(route, name) for route, name in exempt if not allowed(route, name)]
    assert unexpected == []
    names = {name for _, name in exempt}
    assert {"login", "password_reset", "password_reset_confirm"} <= names


def test_the_walk_sees_protected_views_too():
    names = {name for _, name, _ in walk(get_resolver().url_patterns)}
    assert {"logout", "outgoing_email", "admin:index"} <= names
