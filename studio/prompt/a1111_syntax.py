"""AUTOMATIC1111's prompt syntax: attention weights, escapes, BREAK and extra-network tags.

The weights match AUTOMATIC1111's ``parse_prompt_attention`` number for number (same multiplication order, so the
same floats, and the same merging of neighbours with equal weights). Where AUTOMATIC1111 quietly guesses (an
unclosed bracket, a weight that is not a number) the guess is kept and a diagnostic says what happened.

One deliberate difference: AUTOMATIC1111 reads a BREAK *inside* brackets as the word "BREAK" with a negative
weight (its marker weight -1 gets multiplied); here BREAK always ends a chunk, with a warning.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from typing import NamedTuple

from studio.errors import RequestError
from studio.prompt.diagnostics import PromptDiagnostic, Severity
from studio.prompt.lora_tags import ExtraNetworkTag, extra_network_diagnostics, strip_extra_networks

ROUND_MULTIPLIER = 1.1
SQUARE_MULTIPLIER = 1 / 1.1
# Parsing runs on the GUI thread after every pause in typing, so any prompt must parse in a blink; the costliest
# text (all stray brackets) takes about 8 µs a character. The longest real prompts are a few thousand characters,
# and 20,000 already make some 60 CLIP chunks of 75 tokens; pasted image metadata may carry megabytes.
MAX_PROMPT_CHARS = 20_000
# Each closing bracket re-weights everything inside it, so the work is the text times the depth. Ten levels is
# already a weight of 2.6; a hundred (×13,780) is no emphasis anyone means, only runaway or pasted brackets.
MAX_BRACKET_DEPTH = 100

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
# BREAK eats the whitespace around it. Found by the word, then widened: a pattern that starts with \s* would
# rescan a long run of spaces from each of its characters.
_BREAK = re.compile(r"\bBREAK\b")
_SPACES = re.compile(r"\s*")
# AUTOMATIC1111 splits a prompt at the word AND into prompts it combines while sampling (composable diffusion).
_AND = re.compile(r"\bAND\b")
AND_UNSUPPORTED = (
    "AND combines prompts in AUTOMATIC1111 (composable diffusion), which the studio does not do: here it is "
    "the plain word 'AND', so the picture will differ from AUTOMATIC1111's. Join the ideas with a comma, or "
    "use BREAK to give each its own chunk."
)


class PromptLimitError(RequestError):
    """A prompt too long, or nested too deeply, to read in the time a keystroke allows."""


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
class _Open:
    piece_index: int
    position: int
    colon: int | None = None  # last ':' directly inside this round bracket: a weight that failed to read


@dataclass
class _Reader:
    """One pass over the clean text; the pieces and brackets mirror AUTOMATIC1111's lists.

    Piece ``i`` is ``texts[i]`` at ``weights[i]``; ``break_at[i]`` is the clean-text position of a BREAK marker,
    ``None`` for text. Parallel lists, so that re-weighting a tail is one list comprehension.
    """

    texts: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    break_at: list[int | None] = field(default_factory=list)
    rounds: list[_Open] = field(default_factory=list)
    squares: list[_Open] = field(default_factory=list)
    problems: list[PromptDiagnostic] = field(default_factory=list)

    def add_piece(self, text: str, weight: float = 1.0, break_at: int | None = None) -> None:
        self.texts.append(text)
        self.weights.append(weight)
        self.break_at.append(break_at)

    def multiply_from(self, start: int, multiplier: float) -> None:
        self.weights[start:] = [weight * multiplier for weight in self.weights[start:]]

    def add_text(self, text: str, position: int) -> None:
        start = 0
        for match in _BREAK.finditer(text):
            self.add_piece(text[start : match.start()].rstrip())  # rstrip() and \s agree on what is space
            self.add_piece("BREAK", -1.0, position + match.start())
            spaces = _SPACES.match(text, match.end())
            start = spaces.end() if spaces else match.end()  # the pattern also matches no space at all
        self.add_piece(text[start:])

    def open(self, token: str, at: int) -> None:
        if len(self.rounds) + len(self.squares) >= MAX_BRACKET_DEPTH:
            raise PromptLimitError(
                f"The prompt opens more than {MAX_BRACKET_DEPTH} brackets inside one another; the studio reads "
                f"at most {MAX_BRACKET_DEPTH} levels. Close the brackets sooner, or write '\\{token}' for a "
                "plain bracket."
            )
        (self.rounds if token == "(" else self.squares).append(_Open(len(self.texts), at))

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
                self.add_piece(token[1])
            elif kind == "backslash":
                self.add_piece("")
                self.report(
                    at,
                    "A backslash only keeps a bracket or another backslash as plain text, so this one is "
                    "dropped. Write '\\\\' for a backslash.",
                )
            elif kind == "open":
                self.open(token, at)
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


def _merged(reader: _Reader) -> tuple[list[PromptSegment], list[tuple[int, float, int]]]:
    """Join neighbouring text pieces of equal weight (never across a BREAK), as AUTOMATIC1111 does.

    The breaks come back as (index of the segment after it, its weight, its clean-text position).
    """
    runs: list[tuple[list[str], float]] = []  # joined once at the end: repeated += would copy quadratically
    breaks: list[tuple[int, float, int]] = []
    joinable = False
    for text, weight, break_at in zip(reader.texts, reader.weights, reader.break_at, strict=True):
        if break_at is not None:
            breaks.append((len(runs), weight, break_at))
            joinable = False
        elif joinable and runs[-1][1] == weight:
            runs[-1][0].append(text)
        else:
            runs.append(([text], weight))
            joinable = True
    segments = [PromptSegment("".join(parts), weight) for parts, weight in runs]
    return segments or [PromptSegment("", 1.0)], breaks


def check_prompt_length(label: str, text: str) -> None:
    """Raise ``PromptLimitError`` for a ``label`` ("prompt", "negative prompt") past ``MAX_PROMPT_CHARS``."""
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptLimitError(
            f"The {label} is {len(text):,} characters long; the studio reads at most {MAX_PROMPT_CHARS:,}. "
            "Shorten it; settings pasted from elsewhere may have brought in more than the prompt."
        )


def parse_prompt(text: str) -> ParsedPrompt:
    """Read ``text`` the way AUTOMATIC1111 does; syntax problems go to ``diagnostics``, never raised.

    Raises ``PromptLimitError`` only past the size caps: more than ``MAX_PROMPT_CHARS`` characters, or brackets
    open more than ``MAX_BRACKET_DEPTH`` deep.
    """
    check_prompt_length("prompt", text)
    clean, tags = strip_extra_networks(text)
    # A clean-text position moves right by the length of every tag removed at or before it.
    clean_starts, shifts = [], []
    for tag, shift in zip(tags, accumulate(tag.end - tag.start for tag in tags), strict=True):
        clean_starts.append(tag.end - shift)
        shifts.append(shift)

    def typed(position: int) -> int:
        removed = bisect_right(clean_starts, position)
        return position + shifts[removed - 1] if removed else position

    reader = _Reader()
    reader.read(clean)
    reader.close_leftovers()
    segments, break_pieces = _merged(reader)
    breaks = []
    for index, weight, at in break_pieces:
        breaks.append(PromptBreak(typed(at), index))
        if weight != -1.0:
            reader.report(
                at,
                "BREAK inside brackets still starts a new chunk here, but AUTOMATIC1111 reads it as the word "
                "'BREAK' with a negative weight. Move BREAK outside the brackets.",
            )
    diagnostics = [PromptDiagnostic(typed(d.position), d.message, d.severity) for d in reader.problems]
    diagnostics += [
        PromptDiagnostic(typed(match.start()), AND_UNSUPPORTED, "error") for match in _AND.finditer(clean)
    ]
    for tag in tags:
        diagnostics.extend(extra_network_diagnostics(tag))
    diagnostics.sort(key=lambda d: d.position)
    return ParsedPrompt(text, clean, tuple(segments), tuple(breaks), tuple(tags), tuple(diagnostics))
