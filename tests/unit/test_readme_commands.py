"""Every command in README.md and shows/README.md runs as written from a fresh clone.

Commands are taken from the code blocks (indented or fenced; in a fenced block the lines that
start with `$ `) and from inline code that starts with a program (`python …`, `latent-walk …`,
`.venv/bin/…`, `bash …`). Each program must exist after `scripts/setup.sh`: `.venv/bin/X` as
written, or bare `python` / `latent-walk` only after the document said to activate the venv.
run_show.py's and latent-walk's arguments must parse (so a renamed option fails here), each
latent-walk subcommand's `--help` must work, and scripts must exist and know their options.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "shows/README.md")
ACTIVATE = "source .venv/bin/activate"
VENV_PROGRAMS = ("python", "latent-walk", "pytest", "ruff", "pip")
SYSTEM_PROGRAMS = ("sudo", "git", "mkdir", "cd", "nvidia-smi", "source")
INLINE_STARTS = ("python ", "latent-walk", ".venv/bin/", "bash ", "source ")


@dataclass(frozen=True)
class Command:
    """One command as written, where it was found, and whether the venv was activated by then."""

    where: str  # file:line
    text: str
    is_inline: bool
    is_activated: bool


def fenced_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(first line number, language, lines) of each ``` block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            language, start, body = lines[i][3:].strip(), i + 2, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append((start, language, body))
        i += 1
    return blocks


def commands_in(doc: str) -> list[Command]:
    """The commands written in one document, in order."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    found: list[tuple[int, str, bool]] = []
    lines = text.splitlines()
    in_fence = False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        previous = lines[number - 2] if number > 1 else ""
        is_code = line.startswith("    ") and line.strip() and not in_fence
        if is_code and (previous.strip() == "" or previous.startswith("    ")):
            found.append((number, line.strip(), False))
    for start, language, body in fenced_blocks(text):
        if language in ("", "sh", "bash", "console", "shell"):
            has_prompts = any(b.startswith("$ ") for b in body)
            for offset, line in enumerate(body):
                if has_prompts and not line.startswith("$ "):
                    continue  # output shown under a prompt
                line = line.removeprefix("$ ").strip()
                if not has_prompts and ":" in line.split(" ")[0]:
                    continue  # output (`shows/x.yaml:12: ...`) in a block without prompts
                if line and not line.startswith("#"):
                    found.append((start + offset, line, False))
    outside_fences = re.sub(r"^```.*?^```", lambda m: "\n" * m.group().count("\n"), text,
                            flags=re.S | re.M)  # fmt: skip
    for match in re.finditer(r"`([^`]+)`", outside_fences):
        span = " ".join(match.group(1).split())
        if span.startswith(INLINE_STARTS) and not match.group(1).startswith("    "):
            number = outside_fences.count("\n", 0, match.start()) + 1
            found.append((number, span, True))
    first_activate = next((n for n, line in enumerate(lines, 1) if ACTIVATE in line), None)
    return [
        Command(f"{doc}:{n}", t, inline, first_activate is not None and first_activate <= n)
        for n, t, inline in sorted(found)
    ]


ALL = [c for doc in DOCS for c in commands_in(doc)]


def test_the_docs_have_commands() -> None:
    assert len(ALL) > 30  # the extraction works (a change of format would find none)
    assert any(".venv/bin/python run_show.py" in c.text for c in ALL)


def parts(command: Command) -> list[list[str]]:
    """The simple commands of a line (split at && | ;), comments and VAR=value prefixes off."""
    text = re.sub(r"\s+#\s.*$", "", command.text)  # a trailing comment
    words = shlex.split(text)
    pieces, current = [], []
    for word in words:
        if word in ("&&", "||", "|", ";"):
            pieces.append(current)
            current = []
        else:
            current.append(word)
    pieces.append(current)
    return [[w for i, w in enumerate(p) if not (re.match(r"^[A-Z_]+=", w) and i == 0)]
            for p in pieces if p]  # fmt: skip


def parse_run_show(args: list[str]) -> str | None:
    """None when run_show.py's parser accepts args, else its message."""
    from installation.settings import build_parser

    return parse_with(build_parser(), args)


def parse_latent_walk(args: list[str]) -> str | None:
    """None when latent-walk's parser accepts args, else its message."""
    from installation.cli import build_parser

    return parse_with(build_parser(), args)


def parse_with(parser, args: list[str]) -> str | None:  # noqa: ANN001
    """Parse args; the usage error as text, or None."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except SystemExit as exit_info:
        if exit_info.code not in (0, None):
            return err.getvalue().strip().splitlines()[-1] if err.getvalue() else "exit 2"
    return None


def check_program(command: Command, words: list[str]) -> list[str]:
    """What is wrong with one simple command (an empty list: nothing)."""
    program, args = words[0], words[1:]
    if any("…" in w or w == "..." for w in words):
        args = []  # notation (`python -m installation …`): the program only
    if program.startswith(".venv/bin/"):
        name = program.removeprefix(".venv/bin/")
        if not (ROOT / program).exists():
            return [f"{program} does not exist after setup"]
    elif program in VENV_PROGRAMS:
        if not command.is_activated:
            return [f"bare `{program}` before the document says `{ACTIVATE}`"]
        name = program
    elif program == "bash":
        script = args[0] if args else ""
        return [] if (ROOT / script).is_file() else [f"bash: no script {script!r}"]
    elif program in SYSTEM_PROGRAMS:
        return []
    else:
        return [f"unknown program {program!r} (not the venv's, not a known system program)"]
    if name == "python":
        return check_python(command, args)
    if name == "latent-walk":
        return check_latent_walk(command, args)
    return []


def check_python(command: Command, args: list[str]) -> list[str]:
    """python SCRIPT ARGS or python -m MODULE ARGS."""
    if not args:
        return []
    if args[0] == "-m":
        module = args[1]
        if module == "installation":
            return check_latent_walk(command, args[2:])
        found = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
        return [] if found.returncode == 0 else [f"python -m {module}: not installed"]
    script, options = args[0], args[1:]
    if not (ROOT / script).is_file():
        return [f"python {script}: no such file"]
    if script == "run_show.py":
        problem = parse_run_show(options)
        return [] if problem is None else [f"run_show.py {' '.join(options)}: {problem}"]
    source = (ROOT / script).read_text(encoding="utf-8")
    return [f"{script} has no option {o}" for o in options
            if o.startswith("--") and f'"{o.split("=")[0]}"' not in source]  # fmt: skip


def check_latent_walk(command: Command, args: list[str]) -> list[str]:
    """latent-walk SUB ARGS: SUB --help works; the whole line parses unless it is a mention."""
    if not args:
        return []
    if parse_latent_walk([args[0], "--help"]) is not None:
        return [f"latent-walk {args[0]}: no such subcommand"]
    if command.is_inline and len(args) == 1:
        return []  # a mention of the subcommand (`latent-walk directions`)
    problem = parse_latent_walk(args)
    return [] if problem is None else [f"latent-walk {' '.join(args)}: {problem}"]


@pytest.mark.parametrize("command", ALL, ids=[f"{c.where} {c.text[:40]}" for c in ALL])
def test_command_runs_as_written(command: Command) -> None:
    problems = [p for words in parts(command) for p in check_program(command, words)]
    assert not problems, f"{command.where}: {command.text}: {'; '.join(problems)}"


def test_latent_walk_help_lists_every_subcommand_the_docs_use() -> None:
    used = set()
    for command in ALL:
        for words in parts(command):
            if words[0].endswith("latent-walk") and len(words) > 1:
                used.add(words[1])
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "latent-walk"), "--help"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    missing = {sub for sub in used if sub not in proc.stdout}
    assert not missing, f"latent-walk --help does not list {sorted(missing)}"
