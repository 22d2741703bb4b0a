"""Column headers of impedance exports -> which column is f, Z', Z'', |Z| or the phase angle.

Names are matched after normalising case, blanks, typographic primes and the unit, which may
be written ``Z'[ohm]``, ``Z' [Ohms]``, ``Z' (Ohm)``, ``Re(Z)/Ohm`` or ``Zreal``. A leading
minus (``-Z''``, ``-Im(Z)/Ohm``, ``-Phase/deg``) marks a column that holds the negated value.
Units with a prefix scale the values (kOhm, MOhm, kHz, MHz, mHz; rad for the phase).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from experiments.impedance.textio import Layout, unquote

ROLES = ("frequency", "real", "imag", "modulus", "phase")

_PATTERNS = {
    "frequency": r"(f|freq|frequency)",
    "real": r"(zs?'|zp'|z_?re(al)?|re\(z\)|re_?z|real|zreal)",
    "imag": r"(zs?''|zs?\"|zp''|z_?im(ag)?|im\(z\)|im_?z|imag|zimag)",
    "modulus": r"(\|z\||zmod|z_?mod|mod\(z\)|z_?abs|abs\(z\)|impedance|z|magnitude)",
    "phase": r"(phase(\(z\))?|zphz|phz|phi|theta|phaseangle|phase_?angle)",
}
_ROLE_RE = {role: re.compile(rf"^{p}(\([ab]\))?$") for role, p in _PATTERNS.items()}
_UNIT_WORDS = r"hz|khz|mhz|ohm|ohms|kohm|mohm|deg|degree|degrees|°|rad|s|sec|v|a|ma|µa|ua|m-0"
_UNIT_TAIL = re.compile(
    rf"^(?P<q>.+?)\s*(\[(?P<u1>[^\]]*)\]|\((?P<u2>{_UNIT_WORDS})\)|/(?P<u3>[^/]*))$", re.IGNORECASE
)
_TYPOGRAPHY = str.maketrans({"″": "''", "′": "'", "’": "'", "‘": "'", "“": '"', "”": '"'})


@dataclass(frozen=True)
class Column:
    """A recognised column: its index, role, whether it holds -value, and the unit factor."""

    index: int
    role: str
    negated: bool
    scale: float
    name: str


def split_header(header: str, layout: Layout, width: int) -> list[str]:
    """Names of the ``width`` columns of ``header`` (its separator may differ from the data's).

    Tries the data's separator, then tabs, then two or more blanks, then single blanks with
    unit tokens joined to the name before them. Returns [] when none gives ``width`` names.
    """
    text = unquote(header.strip().lstrip("#"))
    attempts = [
        layout.split(text),
        [p for p in text.split("\t") if p.strip()],
        [p for p in re.split(r"\s{2,}", text) if p.strip()],
        _join_units(text.split()),
    ]
    for names in attempts:
        names = [unquote(n) for n in names]
        if len(names) == width:
            return names
    return []


def _join_units(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        if out and re.match(r"^[\[(/].*", tok):
            out[-1] += " " + tok
        else:
            out.append(tok)
    return out


def classify(name: str) -> tuple[str | None, bool, float]:
    """(role or None, negated, unit factor) of one column name."""
    text = unquote(name.translate(_TYPOGRAPHY))
    text = text.replace("Ω", "Ohm").replace("ω", "ohm")
    negated = text.startswith("-")
    text = text.lstrip("-+ ").strip()
    unit = ""
    m = _UNIT_TAIL.match(text)
    if m and not re.fullmatch(r"(re|im|mod|abs)", m.group("q").strip().lower()):
        unit = (m.group("u1") or m.group("u2") or m.group("u3") or "").strip()
        text = m.group("q")
    key = re.sub(r"\s+", "", text.lower()).rstrip(".")
    if key.startswith("z"):
        key = key.replace('"', "''")
    for role in ROLES:
        if _ROLE_RE[role].match(key):
            return role, negated, _unit_factor(role, unit)
    return None, negated, 1.0


def _unit_factor(role: str, unit: str) -> float:
    u = unit.replace(" ", "")
    if role == "frequency":
        return {"kHz": 1e3, "khz": 1e3, "KHz": 1e3, "MHz": 1e6, "mHz": 1e-3}.get(u, 1.0)
    if role == "phase":
        return 180.0 / 3.141592653589793 if u.lower() in ("rad", "radian", "radians") else 1.0
    if u[:1] == "k" and u[1:].lower().startswith("ohm"):
        return 1e3
    if u[:1] == "M" and u[1:].lower().startswith("ohm"):
        return 1e6
    if u[:1] == "m" and u[1:].lower().startswith("ohm"):
        return 1e-3
    return 1.0


def find_columns(names: list[str]) -> dict[str, Column]:
    """The first column of each role among ``names`` (roles not found are absent)."""
    found: dict[str, Column] = {}
    for i, name in enumerate(names):
        role, negated, scale = classify(name)
        if role is not None and role not in found:
            found[role] = Column(i, role, negated, scale, name)
    return found


def names_frequency(line: str) -> bool:
    """True when ``line`` looks like a column header: a frequency and an impedance column."""
    fields = re.split(r"[\t;,]|\s{2,}", unquote(line.strip().lstrip("#")))
    if len(fields) < 2:
        fields = _join_units(line.split())
    roles = {classify(f)[0] for f in fields if f.strip()}
    return "frequency" in roles and len(roles - {None, "frequency"}) > 0
