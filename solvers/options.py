"""PETSc-style option strings: ``"-ksp_type cg -pc_type sor -pc_sor_omega 1.5"`` -> solve() keywords."""
from __future__ import annotations

import shlex
from typing import Any

from .errors import InvalidInputError

__all__ = ["parse_options", "tokenize_options", "coerce_value"]

#: PETSc KSP/PC names that differ from ours
_KSP_ALIASES = {"preonly": "direct", "richardson": "richardson"}
_PC_ALIASES = {"icc": "ic", "gamg": "amg", "lu": "direct", "none": None}
#: PETSc option name -> our keyword
_RENAMES = {
    "ksp_rtol": "rtol", "ksp_atol": "atol", "ksp_max_it": "maxiter", "max_it": "maxiter",
    "ksp_gmres_restart": "restart", "ksp_fcg_mmax": "mmax",
    "pc_amg_type": "amg_type", "pc_gamg_threshold": "strength", "pc_sor_its": "its",
}


def coerce_value(text: str) -> Any:
    """``'3'`` -> 3, ``'1.5'`` -> 1.5, ``'true'`` -> True, anything else stays a string.

    Examples
    --------
    >>> coerce_value("1e-8"), coerce_value("20"), coerce_value("false"), coerce_value("sa")
    (1e-08, 20, False, 'sa')
    """
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def tokenize_options(text: str, flag: Any = True) -> dict[str, Any]:
    """``"-a 1 -b -c x"`` -> ``{"a": 1, "b": flag, "c": "x"}``: PETSc's own option names, values coerced.

    Examples
    --------
    >>> tokenize_options("-pc_sor_omega 1.5 -ksp_view -x -1")
    {'pc_sor_omega': 1.5, 'ksp_view': True, 'x': -1}
    """
    tokens = shlex.split(text)
    raw: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not _is_option(tok) or len(tok) < 2:
            raise InvalidInputError(f"option string: expected an option starting with '-', got {tok!r} in {text!r}")
        key = tok.lstrip("-")
        if i + 1 < len(tokens) and not _is_option(tokens[i + 1]):
            raw[key] = coerce_value(tokens[i + 1])
            i += 2
        else:
            raw[key] = flag
            i += 1
    return raw


def parse_options(text: str) -> dict[str, Any]:
    """Turn a PETSc-style option string into solve() keywords.

    ``-ksp_type`` becomes ``method``, ``-pc_type`` becomes ``pc``, ``-ksp_rtol``/``-ksp_atol``/
    ``-ksp_max_it`` become ``rtol``/``atol``/``maxiter``, ``-pc_<type>_<name>`` and ``-ksp_<type>_<name>``
    become ``<name>``, and ``-pc_sor_symmetric`` selects SSOR. A flag without a value means ``True``.

    Examples
    --------
    >>> parse_options("-ksp_type cg -pc_type sor -pc_sor_omega 1.5 -pc_sor_symmetric -ksp_rtol 1e-6")
    {'method': 'cg', 'pc': 'ssor', 'omega': 1.5, 'rtol': 1e-06}
    """
    raw = tokenize_options(text)
    out: dict[str, Any] = {}
    ksp_type = raw.pop("ksp_type", None)
    pc_type = raw.pop("pc_type", None)
    if raw.pop("pc_sor_symmetric", False):
        pc_type = "ssor"
    if ksp_type is not None:
        out["method"] = _KSP_ALIASES.get(ksp_type, ksp_type)
    if pc_type is not None:
        pc = _PC_ALIASES.get(pc_type, pc_type)
        if out.get("method") == "direct" and pc == "direct":
            pass
        else:
            out["pc"] = pc
    for key, value in raw.items():
        if key in _RENAMES:
            out[_RENAMES[key]] = value
            continue
        for prefix in ("pc_", "ksp_"):
            if key.startswith(prefix):
                rest = key[len(prefix):]
                typ, _, name = rest.partition("_")
                if name:
                    key = name
                break
        out[key] = value
    return out


def _is_option(token: str) -> bool:
    if not token.startswith("-"):
        return False
    try:
        float(token)
        return False
    except ValueError:
        return True
