"""Just enough of a Dockerfile parser to check what the images install and how they run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_STAGE_NAME = re.compile(r"\bAS\s+(\S+)\s*$", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


@dataclass(frozen=True)
class Instruction:
    """One instruction with its continuation lines joined; `stage` is "" before the first FROM."""

    stage: str
    keyword: str
    args: str
    line: int


class Dockerfile:
    """The instructions of a Dockerfile, by stage, with its global ARG defaults."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.instructions = parse(path.read_text())
        self.global_args = _arg_defaults(i for i in self.instructions if i.stage == "")

    def stage(self, name: str) -> list[Instruction]:
        """The instructions from `FROM ... AS name` to the next FROM."""
        found = [i for i in self.instructions if i.stage == name]
        assert found, f"{self.path.name} has no stage {name!r}"
        return found

    def base(self, name: str) -> str:
        """What stage `name` is built FROM, with global ARGs expanded."""
        return self.expand(self.stage(name)[0].args.split()[0])

    def expand(self, text: str) -> str:
        """Substitute the global ARG defaults into `text`."""
        return _VARIABLE.sub(lambda m: self.global_args.get(m.group(1), m.group(0)), text)

    def last(self, name: str, keyword: str) -> str:
        """The arguments of the stage's last `keyword` instruction."""
        matches = [i.args for i in self.stage(name) if i.keyword == keyword]
        assert matches, f"stage {name!r} has no {keyword}"
        return matches[-1]

    def exec_form(self, name: str, keyword: str) -> list[str]:
        """A JSON-array instruction (ENTRYPOINT, CMD) of the stage, as a list."""
        value: list[str] = json.loads(self.last(name, keyword))
        return value

    def env(self, name: str) -> dict[str, str]:
        """Every `ENV key=value` the stage sets itself (not those of its base stages)."""
        pairs = [pair for i in self.stage(name) if i.keyword == "ENV" for pair in i.args.split()]
        return dict(pair.split("=", 1) for pair in pairs)


def parse(text: str) -> list[Instruction]:
    """Instructions in order; comment lines vanish, also inside continuations, as Docker does."""
    instructions: list[Instruction] = []
    parts: list[str] = []
    stage, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#") or (not line and not parts):
            continue
        start = start if parts else number
        parts.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, args = " ".join(part for part in parts if part).partition(" ")
        parts = []
        if keyword.upper() == "FROM":
            match = _STAGE_NAME.search(args)
            stage = match.group(1) if match else f"line-{start}"
        instructions.append(Instruction(stage, keyword.upper(), args.strip(), start))
    return instructions


def _arg_defaults(instructions: Iterable[Instruction]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for instruction in instructions:
        name, _, value = instruction.args.partition("=")
        defaults[name] = _VARIABLE.sub(lambda m: defaults.get(m.group(1), m.group(0)), value)
    return defaults
