"""How the client address is read behind TRUSTED_PROXY_COUNT reverse proxies.

Each proxy appends the address it was connected from to X-Forwarded-For, so with N
proxies the client is the N-th entry from the right; whatever a client wrote further
left is ignored. django-ipware counts only the proxies listed in the header (the last
proxy is REMOTE_ADDR), hence N - 1. With N = 0 only REMOTE_ADDR is read.
"""

from __future__ import annotations


def ipware_settings(trusted_proxy_count: int) -> dict:
    """The AXES_IPWARE_* settings (axes and the per-address counters read them)."""
    if trusted_proxy_count < 0:
        raise ValueError("TRUSTED_PROXY_COUNT cannot be negative.")
    if trusted_proxy_count == 0:
        return {
            "AXES_IPWARE_META_PRECEDENCE_ORDER": ("REMOTE_ADDR",),
            "AXES_IPWARE_PROXY_COUNT": None,
        }
    return {
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
        "AXES_IPWARE_PROXY_COUNT": trusted_proxy_count - 1,
        "AXES_IPWARE_PROXY_ORDER": "left-most",
        # Strict would discard a whole header that a client prefixed with its own entries.
        "IPWARE_STRICT": False,
    }
