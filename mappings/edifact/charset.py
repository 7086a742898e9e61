"""The character repertoire of an EDIFACT interchange, and what to do with text outside it.

EANCOM D.96A partners run syntax version 3 with level A, B or C (UNOA..UNOC); Bots and most
installed translators refuse ``UNOW`` (UTF-8, syntax 4 only). The repertoire therefore comes
from the buyer profile (option ``syntax``, default ``UNOC:3``) and never changes by itself.
Text the repertoire cannot carry is, per option ``transliterate``:

* ``punctuation`` (default) - typographic punctuation and spaces become their ASCII
  counterparts (dashes -> ``-``, curly quotes -> ``'``/``"``, ``…`` -> ``...``, no-break space
  -> space, soft hyphen dropped). That changes no word and is what ERP texts need (an en dash
  or „quotes“ in an item name are everyday); any other character is refused.
* ``none`` - everything outside the repertoire is refused.
* ``all`` - letters are folded as well (Unicode NFKD without combining marks: ``é`` -> ``e``,
  ``Ł`` -> ``L``; ``ß`` -> ``ss``, ``Æ`` -> ``AE``, ``Ø`` -> ``O``, ``€`` -> ``EUR``; for UNOA
  also upper case, as level A has no lower case letters); a character with no such folding is
  still refused.

A refusal is a Problem naming field, BT id, value, the character, its position and the
repertoire. Letters are never changed by default: an invoice is a legal document, and a
silently altered name or address (``Łódź`` -> ``Lodz``) is worse than a refusal the sender can
act on by choosing ``all`` or ``UNOW:4`` for that partner.

``UNOW:4`` (or ``UNOY:4``) is an explicit partner option: ISO 10646 in UTF-8, nothing refused.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass

from gateway.errors import ConfigError

_LEVEL_A = frozenset(string.ascii_uppercase + string.digits + " .,-()/='+:?!\"%&*;<>")
_LEVEL_B = _LEVEL_A | frozenset(string.ascii_lowercase)

# name, 8-bit codec (None: defined by the repertoire above, UTF-8 for syntax 4 Unicode levels)
REPERTOIRES: dict[str, str] = {
    "UNOA": "level A (ISO 646 upper case letters, digits, space and . , - ( ) / = ' + : ? ! "
    '" % & * ; < >)',
    "UNOB": "level B (level A and lower case letters)",
    "UNOC": "level C (ISO 8859-1, Latin alphabet No. 1)",
    "UNOD": "level D (ISO 8859-2, Latin alphabet No. 2)",
    "UNOE": "level E (ISO 8859-5, Latin/Cyrillic)",
    "UNOF": "level F (ISO 8859-7, Latin/Greek)",
    "UNOG": "level G (ISO 8859-3)",
    "UNOH": "level H (ISO 8859-4)",
    "UNOI": "level I (ISO 8859-6, Latin/Arabic)",
    "UNOJ": "level J (ISO 8859-8, Latin/Hebrew)",
    "UNOK": "level K (ISO 8859-9)",
    "UNOW": "level W (ISO 10646 in UTF-8, syntax 4)",
    "UNOY": "level Y (ISO 10646, syntax 4)",
}
_CODECS = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859-2",
    "UNOE": "iso8859-5",
    "UNOF": "iso8859-7",
    "UNOG": "iso8859-3",
    "UNOH": "iso8859-4",
    "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}
UNICODE_LEVELS = frozenset({"UNOW", "UNOY"})
MODES = ("none", "punctuation", "all")

_PUNCTUATION = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
    "\u2026": "...", "\u2022": "*", "\u00b7": ".",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ",
    "\u00ad": "",
}  # fmt: skip
_LETTERS = {
    "ß": "ss", "ẞ": "SS", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o",
    "Đ": "D", "đ": "d", "Ł": "L", "ł": "l", "Þ": "TH", "þ": "th", "Ð": "D", "ð": "d",
    "ı": "i", "€": "EUR", "£": "GBP", "©": "(C)", "®": "(R)", "°": "o", "×": "x",
}  # fmt: skip


@dataclass(frozen=True)
class Charset:
    """A syntax level (``UNOC``), its version (``3``) and the transliteration mode."""

    level: str
    version: str
    transliterate: str = "punctuation"

    @property
    def codec(self) -> str:
        return _CODECS.get(self.level, "latin-1")

    @property
    def repertoire(self) -> str:
        return f"{self.level} {REPERTOIRES.get(self.level, '')}".strip()

    def carries(self, ch: str) -> bool:
        """Whether ``ch`` may stand in a value of this level."""
        if self.level == "UNOA":
            return ch in _LEVEL_A
        if self.level == "UNOB":
            return ch in _LEVEL_B
        try:
            ch.encode(self.codec)
        except UnicodeEncodeError:
            return False
        return True

    def fits(self, text: str) -> bool:
        """Whether every character of ``text`` may stand in a value of this level."""
        if self.level in ("UNOA", "UNOB"):
            return set(text) <= (_LEVEL_A if self.level == "UNOA" else _LEVEL_B)
        try:
            text.encode(self.codec)
        except UnicodeEncodeError:
            return False
        return True

    def convert(self, value: str) -> tuple[str, tuple[int, str] | None]:
        """``value`` in this repertoire, transliterated as the mode allows; the second item is
        the first (position, character) that cannot be carried, or None."""
        if self.fits(value):
            return value, None
        out: list[str] = []
        for index, ch in enumerate(value):
            if self.carries(ch):
                out.append(ch)
                continue
            replacement = self._transliterate(ch)
            if replacement is None:
                return value, (index + 1, ch)
            out.append(replacement)
        return "".join(out), None

    def _transliterate(self, ch: str) -> str | None:
        candidates = []
        if self.transliterate in ("punctuation", "all") and ch in _PUNCTUATION:
            candidates.append(_PUNCTUATION[ch])
        if self.transliterate == "all":
            if ch in _LETTERS:
                candidates.append(_LETTERS[ch])
            folded = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            if folded and folded != ch:
                candidates.append(folded)
            candidates.append(ch.upper())
        for candidate in candidates:
            text = candidate.upper() if self.level == "UNOA" else candidate
            if text == "" or self.fits(text):
                return text
        return None


DEFAULT_CHARSET = Charset("UNOC", "3")


def codec_of(level: str) -> str:
    """The Python codec of a syntax level (``latin-1`` for levels it does not know)."""
    return _CODECS.get(level, "latin-1")


def charset_of(name: str, options: dict[str, str]) -> Charset:
    """The Charset a buyer profile's options select; ConfigError naming option and accepted
    values. ``syntax`` is ``<level>:<version>`` (default ``UNOC:3``); UNOW and UNOY need 4."""
    who = f"buyer profile {name!r}: " if name else ""
    value = options.get("syntax", "").strip() or "UNOC:3"
    parts = value.split(":")
    if len(parts) != 2 or parts[0] not in REPERTOIRES or parts[1] not in ("1", "2", "3", "4"):
        raise ConfigError(
            f"{who}option 'syntax' = {value!r}; accepted: <syntax id>:"
            f"<version>, e.g. UNOC:3 (EANCOM syntax 3: UNOA:3, UNOB:3, UNOC:3) or UNOW:4"
        )
    if parts[0] in UNICODE_LEVELS and parts[1] != "4":
        raise ConfigError(
            f"{who}option 'syntax' = {value!r}; {parts[0]} exists in syntax "
            f"version 4 only: accepted {parts[0]}:4"
        )
    mode = options.get("transliterate", "punctuation").strip() or "punctuation"
    if mode not in MODES:
        raise ConfigError(f"{who}option 'transliterate' = {mode!r}; accepted: " + ", ".join(MODES))
    return Charset(parts[0], parts[1], mode)
