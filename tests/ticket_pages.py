"""Reading a ticket page's action forms in page tests (repairs, complaints)."""

import re

ZH = {"Accept-Language": "zh-CN"}


def forms_of(page: str, action: str) -> list[str]:
    """The HTML of each form of one action on a ticket page."""
    return re.findall(rf'<form[^>]*data-action="{action}".*?</form>', page, re.S)


def form_of(page: str, action: str) -> str:
    """The HTML of the (first) form of one action."""
    found = forms_of(page, action)
    assert found, f"no {action} form"
    return found[0]


def tag(html: str, name: str) -> str:
    """The opening tag of the control called `name`."""
    found = re.search(rf'<(?:input|textarea|select)\b[^>]*\bname="{name}"[^>]*>', html)
    assert found, f"no control {name}"
    return found.group(0)


def message_at(html: str, name: str) -> str | None:
    """The message shown beside the field `name`, if any."""
    found = re.search(rf'data-field="{name}">([^<]*)<', html)
    return found.group(1) if found else None
