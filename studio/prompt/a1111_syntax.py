"""AUTOMATIC1111's prompt syntax: attention weights, escapes, BREAK and extra-network tags.

The weights match AUTOMATIC1111's ``parse_prompt_attention`` number for number (same multiplication order, so the
same floats, and the same merging of neighbours with equal weights). Where AUTOMATIC1111 quietly guesses (an
unclosed bracket, a weight that is not a number) the guess is kept and a diagnostic says what happened.

One deliberate difference: AUTOMATIC1111 reads a BREAK *inside* brackets as the word "BREAK" with a negative
weight (its marker weight -1 gets multiplied); here BREAK always ends a chunk, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from studio.prompt.diagnostics import PromptDiagnostic, Severity
from studio.prompt.lora_tags import ExtraNetworkTag, extra_network_diagnostics, strip_extra_networks

ROUND_MULTIPLIER = 1.1
SQUARE_MULTIPLIER = 1 / 1.1

# One token per match, covering every character: escapes, a lone backslash (dropped), openers, a weighted
# close ":1.3)", plain closers, plain text (stops at brackets, backslashes and colons) and a lone colon.
_TOKEN = re.compile(
    r"""
    (?P<escape>\\[()\[\]\\])
    | (?P<backslash>\\)
    | (?P<open>[(\[])
    | (?P<weighted>:\s*(?P<weight>[+-]?[.\d]+)\s*\))
    | (?P<close>[)\]])
    | (?P<text>[^\\()\[\]:]+)
    | (?P<colon>:)
    """,
    re.VERBOSE,
)
_BREAK = re.compile(r"\s*\b(BREAK)\b\s*", re.S)


class PromptSegment(NamedTuple):
    text: str
    weight: float


@dataclass(frozen=True)
class PromptBreak:
    """A BREAK keyword: ``position`` indexes the typed text; the next chunk starts at ``segments[segment_index]``."""

    position: int
    segment_index: int


@dataclass(frozen=True)
class ParsedPrompt:
    """What a prompt means: weighted text segments, chunk breaks, extra-network tags and syntax problems.

    Positions (breaks, tags, diagnostics) index ``text``, the prompt as typed; ``clean_text`` is ``text`` with
    the extra-network tags removed, which is what the weights were read from.
    """

    text: str
    clean_text: str
    segments: tuple[PromptSegment, ...]
    breaks: tuple[PromptBreak, ...] = ()
    extra_networks: tuple[ExtraNetworkTag, ...] = ()
    diagnostics: tuple[PromptDiagnostic, ...] = ()

    @property
    def loras(self) -> tuple[ExtraNetworkTag, ...]:
        return tuple(tag for tag in self.extra_networks if tag.is_lora)

    def chunks(self) -> list[tuple[PromptSegment, ...]]:
        """The segments split at every BREAK (always at least one chunk)."""
        cuts = [0, *(b.segment_index for b in self.breaks), len(self.segments)]
        return [self.segments[a:b] for a, b in pairwise(cuts)]

    def a1111_pairs(self) -> list[tuple[str, float]]:
        """The segments in AUTOMATIC1111's own form, each BREAK as ``("BREAK", -1.0)``."""
        pairs: list[tuple[str, float]] = []
        for chunk_number, chunk in enumerate(self.chunks()):
            if chunk_number:
                pairs.append(("BREAK", -1.0))
            pairs.extend(chunk)
        return pairs


@dataclass
class _Piece:
    text: str
    weight: float = 1.0
    break_at: int | None = None  # clean-text position of a BREAK marker; None for text


@dataclass
class _Open:
    piece_index: int
    position: int
    colon: int | None = None  # last ':' directly inside this round bracket: a weight that failed to read


@dataclass
class _Reader:
    """One pass over the clean text; the pieces and brackets mirror AUTOMATIC1111's lists."""

    pieces: list[_Piece] = field(default_factory=list)
    rounds: list[_Open] = field(default_factory=list)
    squares: list[_Open] = field(default_factory=list)
    problems: list[PromptDiagnostic] = field(default_factory=list)

    def multiply_from(self, start: int, multiplier: float) -> None:
        for piece in self.pieces[start:]:
            piece.weight *= multiplier

    def add_text(self, text: str, position: int) -> None:
        start = 0
        for match in _BREAK.finditer(text):
            self.pieces.append(_Piece(text[start : match.start()]))
            self.pieces.append(_Piece("BREAK", -1.0, position + match.start(1)))
            start = match.end()
        self.pieces.append(_Piece(text[start:]))

    def innermost_is_round(self) -> bool:
        return bool(self.rounds) and (
            not self.squares or self.squares[-1].position < self.rounds[-1].position
        )

    def close_round(self, clean: str, at: int, weight: float | None) -> None:
        opened = self.rounds.pop()
        if weight is None and opened.colon is not None:
            written = clean[opened.colon + 1 : at].strip()
            self.report(
                opened.colon,
                f"The weight '{written}' after the colon is not a number, so it is read as words and the "
                "brackets only add emphasis (×1.1). Write a number, for example (word:1.2)."
                if written
                else "There is no weight after the colon, so the colon stays in the text and the brackets only "
                "add emphasis (×1.1). Write a number, for example (word:1.2).",
            )
        self.multiply_from(opened.piece_index, ROUND_MULTIPLIER if weight is None else weight)

    def unmatched_close(self, char: str, at: int) -> None:
        opener = "(" if char == ")" else "["
        self.report(
            at,
            f"This '{char}' has no matching '{opener}', so it stays in the prompt as a plain character. "
            f"Remove it, or write '\\{char}' to keep it on purpose.",
        )

    def report(self, at: int, message: str, severity: Severity = "warning") -> None:
        self.problems.append(PromptDiagnostic(at, message, severity))

    def read(self, clean: str) -> None:
        for match in _TOKEN.finditer(clean):
            kind, token, at = match.lastgroup, match.group(), match.start()
            if kind == "escape":
                self.pieces.append(_Piece(token[1]))
            elif kind == "backslash":
                self.pieces.append(_Piece(""))
                self.report(
                    at,
                    "A backslash only keeps a bracket or another backslash as plain text, so this one is "
                    "dropped. Write '\\\\' for a backslash.",
                )
            elif kind == "open":
                (self.rounds if token == "(" else self.squares).append(_Open(len(self.pieces), at))
            elif kind == "weighted" and self.rounds:
                self.read_weighted_close(clean, match)
            elif kind == "weighted" or (
                kind == "close" and not (self.rounds if token == ")" else self.squares)
            ):
                self.add_text(token, at)
                self.unmatched_close(token[-1], match.end() - 1)
            elif token == ")":
                self.close_round(clean, at, None)
            elif token == "]":
                self.multiply_from(self.squares.pop().piece_index, SQUARE_MULTIPLIER)
            else:
                if kind == "colon" and self.innermost_is_round():
                    self.rounds[-1].colon = at
                self.add_text(token, at)

    def read_weighted_close(self, clean: str, match: re.Match[str]) -> None:
        try:
            weight = float(match.group("weight"))
        except ValueError:
            # AUTOMATIC1111 stops with an error here; read it like any other weight that is not a number.
            self.report(
                match.start("weight"),
                f"The weight '{match.group('weight')}' is not a valid number, so it is read as words "
                "(AUTOMATIC1111 refuses this prompt). Write one number, for example (word:1.2).",
                "error",
            )
            self.add_text(match.group()[:-1], match.start())
            self.rounds[-1].colon = None  # already reported
            self.close_round(clean, match.end() - 1, None)
            return
        self.close_round(clean, match.end() - 1, weight)

    def close_leftovers(self) -> None:
        # Same order as AUTOMATIC1111: every unclosed '(' outermost first, then every '['.
        for opened, char, multiplier, effect in (
            *((o, "(", ROUND_MULTIPLIER, "more emphasis (×1.1)") for o in self.rounds),
            *((o, "[", SQUARE_MULTIPLIER, "less emphasis (÷1.1)") for o in self.squares),
        ):
            self.multiply_from(opened.piece_index, multiplier)
            closer = ")" if char == "(" else "]"
            self.report(
                opened.position,
                f"This '{char}' is never closed, so everything after it gets {effect}. Add a '{closer}' "
                f"where the emphasis should end, or write '\\{char}' for a plain bracket.",
            )
        self.rounds, self.squares = [], []


def _merged(pieces: list[_Piece]) -> tuple[list[PromptSegment], list[tuple[int, _Piece]]]:
    """Join neighbouring text pieces of equal weight (never across a BREAK), as AUTOMATIC1111 does."""
    segments: list[PromptSegment] = []
    breaks: list[tuple[int, _Piece]] = []
    joinable = False
    for piece in pieces:
        if piece.break_at is not None:
            breaks.append((len(segments), piece))
            joinable = False
        elif joinable and segments[-1].weight == piece.weight:
            segments[-1] = PromptSegment(segments[-1].text + piece.text, piece.weight)
        else:
            segments.append(PromptSegment(piece.text, piece.weight))
            joinable = True
    return segments or [PromptSegment("", 1.0)], breaks


def parse_prompt(text: str) -> ParsedPrompt:
    """Read ``text`` the way AUTOMATIC1111 does; never raises, problems go to ``diagnostics``."""
    clean, tags = strip_extra_networks(text)
    removed = [(tag.start, tag.end - tag.start) for tag in tags]

    def typed(position: int) -> int:
        # A clean-text position moves right by every tag removed at or before it.
        for start, length in removed:
            if start <= position:
                position += length
        return position

    reader = _Reader()
    reader.read(clean)
    reader.close_leftovers()
    segments, break_pieces = _merged(reader.pieces)
    breaks = []
    for index, piece in break_pieces:
        assert piece.break_at is not None
        breaks.append(PromptBreak(typed(piece.break_at), index))
        if piece.weight != -1.0:
            reader.report(
                piece.break_at,
                "BREAK inside brackets still starts a new chunk here, but AUTOMATIC1111 reads it as the word "
                "'BREAK' with a negative weight. Move BREAK outside the brackets.",
            )
    diagnostics = [PromptDiagnostic(typed(d.position), d.message, d.severity) for d in reader.problems]
    for tag in tags:
        diagnostics.extend(extra_network_diagnostics(tag))
    diagnostics.sort(key=lambda d: d.position)
    return ParsedPrompt(text, clean, tuple(segments), tuple(breaks), tuple(tags), tuple(diagnostics))
