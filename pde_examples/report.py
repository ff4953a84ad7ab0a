"""The closing part every ``solverkit simulate`` report shares: plots, the command line, an atomic write."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["write_report"]


def write_report(out: Path, name: str, lines: list[str], plots: Callable[[], Iterable[Path]], command: str) -> str:
    """Append the plots (or why there are none) and the command to ``lines``, write ``out/<name>_report.md``
    atomically (a temporary file renamed over it: never a half-written report), and return the Markdown
    with the report's path.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> md = write_report(out, "demo", ["# demo"], lambda: [], "solverkit simulate demo")
    >>> (out / "demo_report.md").read_text().splitlines()
    ['# demo', '', 'Command: `solverkit simulate demo`']
    """
    text = list(lines)
    try:
        for path in plots():
            text.append(f"\n![{path.stem}]({path.name})")
    except ImportError as exc:
        text.append(f"\n(no plots: {exc})")
    text.append(f"\nCommand: `{command}`")
    md = "\n".join(text) + "\n"
    target = out / f"{name}_report.md"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(md)
    tmp.replace(target)
    return md + f"\nreport: {target}"
