"""Locators: find the values a target pins, as exact spans of a file's text.

Each locator module turns a file's text into `Found` spans through a real parser (YAML nodes
with positions, a dotenv line grammar, a regex group); `scan` sorts them into pinned locations
(rewritten by a promotion) and tracking values (a branch: staging, never touched).
"""

from __future__ import annotations

from promoter.locate.base import Found, LocateError
from promoter.locate.yamlnodes import Node
from promoter.model import (
    Component,
    EnvLocator,
    KeyLocator,
    Location,
    PathLocator,
    RegexLocator,
    SaasLocator,
    SaasTargetLocator,
    Target,
    Tracking,
)

__all__ = ["Found", "LocateError", "classify", "find"]


def find(text: str, component: Component, target: Target, roots: list[Node] | None = None) -> list[Found]:
    """Every value `target`'s locator points at in `text`, pinned or not; `roots`, when given,
    are `text`'s YAML documents already composed (a file several targets read is composed once)."""
    loc = target.locator
    if isinstance(loc, EnvLocator):
        from promoter.locate import dotenv

        return dotenv.find(text, loc.key)
    if isinstance(loc, RegexLocator):
        from promoter.locate import regex

        return regex.find(text, loc.pattern)
    shared = roots is not None  # composed once for every target reading the file, or for this one
    if roots is None:
        from promoter.locate.yamlnodes import compose

        roots = compose(text)
    if isinstance(loc, SaasLocator):
        from promoter.locate import saas

        return saas.find(text, roots, component.repo, loc.resource_template, lambda v: component.pins(target, v))
    if isinstance(loc, SaasTargetLocator):
        from promoter.locate import saas

        return saas.find_target(
            text,
            roots,
            component.repo,
            loc.resource_template,
            (loc.namespace, loc.name, loc.selector),
            loc.occurrence,
            lambda v: component.pins(target, v),
            shared,
        )
    if isinstance(loc, KeyLocator):
        from promoter.locate import key

        return key.find(text, roots, loc.name, lambda v: component.pins(target, v))
    assert isinstance(loc, PathLocator)
    from promoter.locate import path

    return path.find(text, roots, loc.expr, lambda v: component.pins(target, v))


def classify(
    text: str, file: str, component: Component, target: Target, found: list[Found]
) -> tuple[list[Location], list[Tracking]]:
    locations: list[Location] = []
    tracking: list[Tracking] = []
    for f in found:
        if component.pins(target, f.value):
            column = f.start - (text.rfind("\n", 0, f.start) + 1) + 1
            locations.append(Location(target, file, f.line, column, f.start, f.end, f.value, f.plain_yaml))
        else:
            tracking.append(Tracking(target, file, f.line, f.value))
    return locations, tracking
