"""Declare API endpoints once: the route, its input and output models, and its roles.

The same declarations validate requests, shape responses and build the OpenAPI document,
so the document cannot drift from the code.
"""

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, ValidationError

from portal.core.errors import NotAllowed, ServiceError
from portal.core.inputs import field_errors

ERRORS = {
    400: "Bad input; `fields` names the inputs at fault.",
    401: "Not signed in.",
    403: "The role may not do this.",
    404: "Not found or not yours.",
    409: "The record's state does not allow this.",
    413: "Too large.",
    429: "Too many requests.",
}


@dataclass
class Endpoint:
    rule: str
    method: str
    summary: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    roles: frozenset | None = None
    public: bool = False
    errors: tuple = ()
    tags: tuple = ()
    extra: dict = field(default_factory=dict)


ENDPOINTS: list[Endpoint] = []


class Unauthorized(ServiceError):
    status = 401


def parse(model: type[BaseModel], data: Any):
    """Validate input against a model, or raise a 400 naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServiceError(
            _l("Some fields are not valid."), fields=field_errors(exc, whole="body")
        ) from None


def route(
    bp,
    rule,
    *,
    method="GET",
    summary,
    query=None,
    body=None,
    response=None,
    status=200,
    roles=None,
    public=False,
    errors=(),
    tags=(),
):
    """Register an API view with its models; the view gets parsed `query`/`body` kwargs."""
    endpoint = Endpoint(
        rule,
        method,
        summary,
        query,
        body,
        response,
        status,
        frozenset(roles) if roles else None,
        public,
        tuple(errors),
        tuple(tags),
    )
    ENDPOINTS.append(endpoint)

    def decorator(view):
        @wraps(view)
        def wrapped(**kwargs):
            if not public:
                if not current_user.is_authenticated:
                    raise Unauthorized(_l("Sign in: send Authorization: Bearer TOKEN."))
                if endpoint.roles and current_user.role not in endpoint.roles:
                    raise NotAllowed(_l("Your role may not do this."))
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict())
            if body is not None:
                data = request.get_json(silent=True)
                if not isinstance(data, dict):
                    raise ServiceError(
                        _l("Send a JSON object."), fields={"body": "not a JSON object"}
                    )
                kwargs["body"] = parse(body, data)
            result = view(**kwargs)
            if isinstance(result, BaseModel):
                return result.model_dump(mode="json", by_alias=True), status
            return result

        wrapped.api_endpoint = endpoint
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped, methods=[method])
        return wrapped

    return decorator


def _schema_of(model, schemas):
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi_document(prefix: str) -> dict:
    """The OpenAPI 3.1 document for every declared endpoint."""
    schemas = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "fields"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object"},
                    },
                }
            },
        }
    }
    paths: dict = {}
    for ep in ENDPOINTS:
        path = prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", ep.rule)
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if conv == "int" else "string"},
            }
            for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", ep.rule)
        ]
        if ep.query is not None:
            for name, info in ep.query.model_fields.items():
                params.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": info.is_required(),
                        "description": info.description or "",
                        "schema": ep.query.model_json_schema()["properties"][name],
                    }
                )
        op: dict = {
            "summary": ep.summary,
            "operationId": f"{ep.method.lower()}_{path}",
            "parameters": params,
            "responses": {},
        }
        if ep.tags:
            op["tags"] = list(ep.tags)
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_of(ep.body, schemas)}},
            }
        ok: dict = {"description": "OK"}
        if ep.response is not None:
            ok["content"] = {"application/json": {"schema": _schema_of(ep.response, schemas)}}
        op["responses"][str(ep.status)] = ok
        codes = set(ep.errors) | ({400} if ep.body or ep.query else set())
        if not ep.public:
            codes |= {401}
            op["security"] = [{"bearer": []}]
        if ep.roles:
            codes |= {403}
        for code in sorted(codes):
            op["responses"][str(code)] = {
                "description": ERRORS[code],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault(path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Property Service Centre Portal API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
