"""AUTOMATIC1111's prompt editing: ``[from:to:when]``, ``[to:when]``, ``[from::when]`` and alternation ``[a|b]``.

A prompt with these is a schedule of plain prompts, one per stretch of sampling steps (A1111's
modules/prompt_parser.py ``get_learned_conditioning_prompt_schedules``, read, not copied):

- ``when`` with a decimal point is a fraction of the steps, without one a step number; either becomes
  ``min(steps, int(value))``, and a switch point below 1 never enters the schedule.
- The schedule's entries are at every switch point and at ``steps``; the text of an entry at step ``t`` takes
  ``from`` where ``t <= when`` and ``to`` after; ``[a|b]`` adds every step and takes option ``(t - 1) % n``.
- While sampling, the 0-based step ``s`` uses the first entry whose step is ``>= s``.

Brackets that are none of these keep their characters (the emphasis parser reads them afterwards), and a
bracket that does not close keeps its text as written, where A1111 falls back to the whole prompt as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*\]")
_PLAIN = re.compile(r"(?:[^\\\[\]():|]|\\.)+|\\")


@dataclass(frozen=True)
class Scheduled:
    before: tuple  # nodes; empty for [to:when]
    after: tuple
    when: str  # the number as written: a '.' makes it a fraction


@dataclass(frozen=True)
class Alternate:
    options: tuple[tuple, ...]


Node = str | Scheduled | Alternate  # str: text kept as written (emphasis brackets included)


class _Fail(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text

    def sequence(self, at: int, stops: str) -> tuple[list[Node], int]:
        """Nodes from ``at`` up to (not including) a character of ``stops`` or the end."""
        nodes: list[Node] = []
        text = self.text
        while at < len(text) and text[at] not in stops:
            char = text[at]
            if char in "([":
                try:
                    node, at = (self.round if char == "(" else self.square)(at)
                    nodes.extend(node)
                    continue
                except _Fail:
                    nodes.append(char)  # not a construct: a plain character (the emphasis parser reports it)
                    at += 1
                    continue
            match = _PLAIN.match(text, at)
            if match:
                nodes.append(match.group())
                at = match.end()
            else:  # a stray closer, colon or bar outside any bracket: plain text
                nodes.append(char)
                at += 1
        return nodes, at

    def round(self, at: int) -> tuple[list[Node], int]:
        inner, at = self.sequence(at + 1, ":)]|")
        nodes: list[Node] = ["(", *inner]
        if self._char(at) == ":":
            weight, at = self.sequence(at + 1, ":)]|")
            nodes += [":", *weight]
        if self._char(at) != ")":
            raise _Fail
        return [*nodes, ")"], at + 1

    def square(self, at: int) -> tuple[list[Node], int]:
        first, at = self.sequence(at + 1, ":|]")
        char = self._char(at)
        if char == "]":
            return ["[", *first, "]"], at + 1
        if char == "|":
            options = [tuple(first)]
            while self._char(at) == "|":
                option, at = self.sequence(at + 1, ":|]")
                options.append(tuple(option))
            if self._char(at) != "]":
                raise _Fail
            return [Alternate(tuple(options))], at + 1
        if char != ":":
            raise _Fail
        number = _NUMBER.match(self.text, at + 1)
        if number:  # [to:when]
            return [Scheduled((), tuple(first), number.group(1))], number.end()
        second, at = self.sequence(at + 1, ":|]")
        number = _NUMBER.match(self.text, at + 1) if self._char(at) == ":" else None
        if number is None:
            raise _Fail
        return [Scheduled(tuple(first), tuple(second), number.group(1))], number.end()

    def _char(self, at: int) -> str:
        return self.text[at] if at < len(self.text) else ""


def parse_edits(text: str) -> tuple[Node, ...]:
    """The prompt as text pieces and editing constructs."""
    nodes, at = _Parser(text).sequence(0, "")
    assert at == len(text)
    return tuple(nodes)


def has_edits(text: str) -> bool:
    """Whether ``text`` uses prompt editing or alternation at all (cheap check first)."""
    if "[" not in text:
        return False
    return any(not isinstance(node, str) for node in _walk(parse_edits(text)))


def _walk(nodes: tuple):
    for node in nodes:
        yield node
        if isinstance(node, Scheduled):
            yield from _walk(node.before)
            yield from _walk(node.after)
        elif isinstance(node, Alternate):
            for option in node.options:
                yield from _walk(option)


def switch_step(when: str, steps: int) -> int:
    """A1111's step for ``when``: a fraction of ``steps`` when written with '.', else a step number; at most ``steps``."""
    value = float(when)
    return min(steps, int(value * steps if "." in when else value))


def _at_step(nodes: tuple, step: int, steps: int) -> str:
    parts = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, Scheduled):
            chosen = node.before if step <= switch_step(node.when, steps) else node.after
            parts.append(_at_step(chosen, step, steps))
        else:
            parts.append(_at_step(node.options[(step - 1) % len(node.options)], step, steps))
    return "".join(parts)


def prompt_schedule(text: str, steps: int) -> list[tuple[int, str]]:
    """``[(last step, prompt text), ...]`` for ``steps`` sampling steps; one entry for a prompt with no edits."""
    steps = max(1, int(steps))
    nodes = parse_edits(text)
    points = {steps}
    for node in _walk(nodes):
        if isinstance(node, Scheduled):
            point = switch_step(node.when, steps)
            if point >= 1:
                points.add(point)
        elif isinstance(node, Alternate):
            points.update(range(1, steps + 1))
    return [(point, _at_step(nodes, point, steps)) for point in sorted(points)]


def text_at(schedule: list[tuple[int, str]], step: int) -> str:
    """The prompt the 0-based sampling ``step`` uses (A1111: the first entry whose step is at least ``step``)."""
    for end, text in schedule:
        if step <= end:
            return text
    return schedule[-1][1]
