"""GET /generate: new handwritten digits from the GAN generators."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from service.admission import admitted_version
from service.catalog import GENERATION
from service.dependencies import GeneratorModelName, generator_for
from service.generation import generate, generated_body, new_seed
from service.openapi import error_responses
from service.png import encode_png, tile
from service.responses import OrjsonResponse
from service.schemas import GeneratedDigits

router = APIRouter(tags=["generate"])

MAX_SEED = 2**63 - 1


@router.get(
    "/generate",
    response_model=GeneratedDigits,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "a PNG grid of the digits (format=png), or JSON (format=json)",
            "headers": {"X-Seed": {"description": "the seed used", "schema": {"type": "integer"}}},
        },
        **error_responses(404, 422, 429, 503),
    },
)
async def generate_digits(
    request: Request,
    model: GeneratorModelName = None,
    digit: Annotated[
        int | None, Query(ge=0, le=9, description="draw this digit (conditional)")
    ] = None,
    count: Annotated[int, Query(ge=1, le=64, description="how many digits")] = 16,
    seed: Annotated[
        int | None, Query(ge=0, le=MAX_SEED, description="same seed and parameters, same bytes")
    ] = None,
    image_format: Annotated[Literal["png", "json"], Query(alias="format")] = "png",
) -> Response:
    """Generate `count` digits: a PNG grid, or JSON with each digit's PNG and pixels.

    With `digit=` the conditional GAN draws that digit; without it the unconditional DCGAN draws
    whatever it likes (`model=conditional` without a digit cycles through 0–9). The seed used is
    returned in the `X-Seed` header (and in the JSON): pass it back to get the same images.
    """
    async with admitted_version(request, GENERATION, generator_for(model, digit)) as version:
        generated = await generate(version, count, digit, new_seed() if seed is None else seed)
        headers = {"X-Seed": str(generated.seed)}
        if image_format == "json":
            return OrjsonResponse(generated_body(generated, version.ref), headers=headers)
    png = encode_png(tile(generated.pixels))
    return Response(png, media_type="image/png", headers=headers)
