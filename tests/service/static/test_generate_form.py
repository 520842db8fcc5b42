"""The demo page's generator: pick a digit and a seed, see the grid the GAN drew."""

from __future__ import annotations

import pytest

from tests.helpers.devtools import DevTools, result_state, text_of

pytestmark = pytest.mark.browser


def test_generated_digits_are_shown_with_their_seed(page: DevTools) -> None:
    page.evaluate(
        "(() => { const s = document.querySelector('[data-testid=generate-digit]');"
        " s.value = '7'; s.dispatchEvent(new Event('change')); })()"
    )
    page.type_into("generate-seed", "42")
    page.click("generate-submit")
    page.wait_for(f"{result_state('generate-result')} === 'done'", "the generated grid")
    image = page.evaluate(
        "(() => { const i = document.querySelector('[data-testid=generate-image]');"
        " return [i.complete, i.naturalWidth, i.naturalHeight, i.hidden, i.src]; })()"
    )
    complete, width, height, hidden, source = image
    assert complete, "the grid image should have loaded"
    assert not hidden, "the grid image should be visible"
    assert width >= 4 * 28, f"16 digits need a grid, got {width}x{height} px"
    assert height >= 2 * 28, f"16 digits need a grid, got {width}x{height} px"
    assert source.startswith("blob:"), source
    assert page.evaluate(text_of("generate-seed-info")) == "seed 42"
    page.assert_no_errors()
