"""Which models each endpoint serves: the short names of `?model=` and the defaults.

The only place that names models; everything about a model (tensors, shapes, labels) comes from
its metadata.json.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.metadata import Task


@dataclass(frozen=True)
class Endpoint:
    """An endpoint's task, its `?model=` short names and the one used when none is given."""

    path: str
    task: Task
    aliases: dict[str, str]
    default: str

    def model_name(self, requested: str | None) -> str:
        """Repository name for a short name ("cnn") or a full name ("digits-cnn")."""
        choice = requested if requested is not None else self.default
        return self.aliases.get(choice, choice)

    def choices(self) -> str:
        """The accepted short names, for error messages and docs."""
        return ", ".join(self.aliases)


DIGITS = Endpoint(
    "/predict/digit",
    "digit-classification",
    {"mlp": "digits-mlp", "cnn": "digits-cnn", "resnet": "digits-resnet"},
    default="cnn",
)
SENTIMENT = Endpoint(
    "/sentiment",
    "sentiment",
    {"rnn": "sentiment-rnn", "lstm": "sentiment-lstm", "transformer": "sentiment-transformer"},
    default="lstm",
)
GENERATION = Endpoint(
    "/generate",
    "digit-generation",
    {"dcgan": "gan-dcgan", "conditional": "gan-conditional"},
    default="dcgan",
)
CONDITIONAL = "conditional"
ENDPOINTS = (DIGITS, SENTIMENT, GENERATION)


def endpoint_for(task: Task) -> Endpoint:
    """The endpoint serving a task."""
    return next(endpoint for endpoint in ENDPOINTS if endpoint.task == task)


def endpoint_named(name: str) -> Endpoint | None:
    """The endpoint whose short names include the repository name `name`."""
    return next((e for e in ENDPOINTS if name in e.aliases.values()), None)


def short_name(name: str) -> str | None:
    """The `?model=` short name of a repository name, if it has one."""
    for endpoint in ENDPOINTS:
        for alias, full in endpoint.aliases.items():
            if full == name:
                return alias
    return None
