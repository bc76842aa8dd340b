"""Every API error has one shape: {"errors": [{"index", "field", "message"}]}.

`index` is the item's position in a bulk request's `items` (0 for anything else),
`field` the CSV column, parameter or header at fault, `message` a sentence for a person.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from yaypay_mail.upserts import RecordError

# Where ninja found a parameter; the first part of a pydantic error's location.
_SOURCES = ("path", "query", "header", "cookie", "form", "file")


def error(field: str, message: str, index: int = 0) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message}


def error_response(status: int, errors: list[dict[str, Any]], **headers: str) -> JsonResponse:
    response = JsonResponse({"errors": errors}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def record_errors(errors: list[RecordError]) -> list[dict[str, Any]]:
    return [error(e.field, e.message, e.position) for e in errors]


class ApiError(Exception):
    """Raised by an endpoint to answer `status` with these errors."""

    def __init__(self, status: int, errors: list[dict[str, Any]], **headers: str):
        super().__init__(status, errors)
        self.status = status
        self.errors = errors
        self.headers = headers


class InvalidBody(ValueError):
    pass


MAX_DEPTH = 32  # a record is two levels deep, a bulk request four
TOO_DEEP = f"The body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects."


class JsonParser(Parser):
    """JSON bodies only, in UTF-8, without NaN or Infinity, at most MAX_DEPTH deep."""

    def parse_body(self, request: HttpRequest):
        try:
            data = json.loads(request.body.decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise InvalidBody("The body is not UTF-8 text.") from None
        except RecursionError:
            raise InvalidBody(TOO_DEEP) from None
        except (json.JSONDecodeError, ValueError) as exc:
            raise InvalidBody(f"The body is not valid JSON: {exc}.") from None
        if _depth(data) > MAX_DEPTH:
            raise InvalidBody(TOO_DEEP)
        return data


def _depth(data: Any) -> int:
    """How many arrays and objects deep `data` goes; iterative, so no depth overflows it."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, level + 1) for child in children)
    return deepest


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _validation_errors(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for item in raw:
        loc = list(item.get("loc", ()))
        if loc and loc[0] == "body":
            loc = loc[2:]  # ("body", <parameter name>, ...): the parameter is the whole body
        elif loc and loc[0] in _SOURCES:
            loc = loc[1:]
        index = 0
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
            index, loc = loc[1], loc[2:]
            default_field = "item"
        else:
            default_field = "body"
        field = str(loc[0]) if loc else default_field
        result.append(error(field, _message(item), index))
    return result


def _message(item: dict[str, Any]) -> str:
    kind = item.get("type", "")
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a JSON object"
    if kind == "list_type":
        return "must be a JSON list"
    if kind == "missing":
        return "is required"
    return str(item.get("msg", "is not valid"))


def install_handlers(api) -> None:
    """Answer every error of `api` in the one shape."""

    def on_validation(request, exc: ValidationError) -> HttpResponse:
        return error_response(422, _validation_errors(exc.errors))

    def on_api_error(request, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.errors, **exc.headers)

    def on_authentication(request, exc: AuthenticationError) -> HttpResponse:
        message = exc.message if exc.message != "Unauthorized" else MISSING_TOKEN
        return error_response(401, [error("authorization", message)], WWW_Authenticate="Bearer")

    def on_http_error(request, exc: HttpError) -> HttpResponse:
        cause = exc.__cause__
        if isinstance(cause, InvalidBody):
            return error_response(422, [error("body", str(cause))])
        return error_response(exc.status_code, [error("request", str(exc))])

    def on_too_big(request, exc) -> HttpResponse:
        return error_response(413, [error("body", "The body is too large.")])

    def on_not_found(request, exc) -> HttpResponse:
        return error_response(404, [error("path", "Not found.")])

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(RequestDataTooBig, on_too_big)


MISSING_TOKEN = "Send an API token: Authorization: Bearer <token> (Settings | API tokens)."
