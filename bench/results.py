"""bench/RESULTS.md: each benchmark script owns one "## " section and rewrites only that one."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(heading: str, section: str, *, stop: str | None = None) -> Path:
    """Replace the section that starts with the line ``heading`` (up to the next "# "/"## "
    heading, or a line starting with ``stop``) by ``section``; append it when it is missing.
    Every other part of the file is kept as it is."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == heading), None)

    def ends(line: str) -> bool:
        return bool(re.match(r"^#{1,2} ", line)) or (stop is not None and line.startswith(stop))

    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (
                i
                for i in range(start + 1, len(lines))
                if re.match(r"^#{1,2} ", lines[i])
                or (stop is not None and lines[i].startswith(stop))
            ),
            len(lines),
        )
        rest = "".join(lines[end:])
        new = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
    RESULTS.write_text(new.rstrip("\n") + "\n")
    return RESULTS


def machine_and_code(
    facts: dict[str, str], load_at_start: str, code_at_start: str, code_at_end: str
) -> list[str]:
    """The closing lines of a section: the machine (``machine_facts()`` of bench/api.py, taken
    at the end), its load at the start and the end, and the code measured. The code counts as
    changed only when src/ did (a commit of other files during a run changes nothing measured).
    """

    def digest(code: str) -> str:
        return code.rpartition("src/ digest ")[2]

    code = code_at_start
    if digest(code_at_end) != digest(code_at_start):
        code += f" — **changed during the run** (at the end: {code_at_end})"
    return [
        f"Machine: date {facts['date']}; nproc {facts['nproc']}; cpu {facts['cpu']}; "
        f"ram {facts['ram']}; kernel {facts['kernel']}; python {facts['python']}; "
        f"load average {load_at_start.split(' (')[0]} at the start, "
        f"{facts['load'].split(' (')[0]} at the end (1 / 5 min).",
        "",
        f"Code measured: {code}.",
    ]
