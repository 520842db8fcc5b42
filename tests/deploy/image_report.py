"""The image measurements in docs/deployment.md: written by the container tests, never typed."""

from __future__ import annotations

import datetime
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
BEGIN = "<!-- image-measurements: written by the container tests, tests/deploy/image_report.py -->"
END = "<!-- /image-measurements -->"
BLOCK = re.compile(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), re.S)


@dataclass
class ImageMeasurements:
    """What one run of the container tests measured, by image target."""

    engine: str = ""
    bases: str = ""
    size_bytes: dict[str, int] = field(default_factory=dict)
    build_s: dict[str, float] = field(default_factory=dict)
    changed: dict[str, bool] = field(default_factory=dict)  # False: the build was all cache hits
    ready_s: float | None = None
    smoke_train_s: float | None = None

    def complete(self) -> bool:
        """Both images built and measured: only then is the doc's block replaced."""
        measured = {"cpu", "train"}
        return measured <= set(self.build_s) and None not in (self.ready_s, self.smoke_train_s)

    def markdown(self, earlier_builds: dict[str, str]) -> str:
        """The doc's block: one row per image, then the smoke training time.

        An image this run left unchanged keeps the build time of the build that made it.
        """
        day = datetime.date.today().isoformat()
        summary = (
            f"Measured on {day} by the `container` tests ({self.engine}, {self.bases}, "
            f"{os.cpu_count()} cores). A build time is that of the last build that changed the "
            "image: the first build on a machine downloads every dependency, a rebuild after a "
            "code change reuses the dependency layers."
        )
        lines = [
            *textwrap.wrap(summary, width=100),
            "",
            "| image | size | build | cold start to `/readyz` 200 |",
            "| --- | --- | --- | --- |",
        ]
        for target in sorted(self.build_s):
            ready = f"{self.ready_s:.1f} s" if target == "cpu" and self.ready_s else "–"
            size = f"{self.size_bytes[target] / 1e6:.0f} MB"
            build = f"{self.build_s[target]:.0f} s"
            if not self.changed.get(target, True):
                build = earlier_builds.get(target, build)
            lines.append(f"| `{target}` | {size} | {build} | {ready} |")
        lines += [
            "",
            f"Smoke training and export of `digits-mlp` in the `train` image: "
            f"{self.smoke_train_s:.0f} s.",
        ]
        return "\n".join(lines) + "\n"


def write(measurements: ImageMeasurements, doc: Path = DOC) -> None:
    """Replace the measurements block of the doc with this run's figures."""
    text = doc.read_text()
    block = BLOCK.search(text)
    assert block, f"{doc} lost its measurements markers"
    earlier = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+?) \|", block[1], re.M))
    markdown = measurements.markdown(earlier)
    doc.write_text(BLOCK.sub(lambda _: f"{BEGIN}\n{markdown}{END}", text))
