"""The project's own packages, for tests that read its code as a whole."""

PACKAGES = [
    "yaypay_mail",
    "routes",
    "outbox",
    "dunning",
    "settings_app",
    "communications",
    "statements",
    "imports",
    "api",
    "accounts",
    "ops",
]
