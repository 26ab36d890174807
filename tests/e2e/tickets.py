"""Helpers for the ticket journeys (repairs, complaints): the action forms, the timeline."""


def action(page, name: str):
    """The form of one workflow action on a ticket page."""
    return page.get_by_test_id("actions").locator(f"form[data-action='{name}']")


def actions_offered(page) -> list[str]:
    """The actions the page offers, in page order."""
    forms = page.get_by_test_id("actions").locator("form[data-action]")
    return [f.get_attribute("data-action") for f in forms.all()]


def timeline_entries(page):
    return page.get_by_test_id("timeline").locator("li")


def phone_fits(tab):
    """On a phone, nothing may be wider than the screen."""
    if tab.phone:
        tab.no_horizontal_scroll()
