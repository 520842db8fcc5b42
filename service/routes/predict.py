"""POST /predict/digit: classify handwritten digits."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.admission import admitted_version
from service.catalog import DIGITS
from service.dependencies import model_parameter, requested_model, settings_of
from service.digits import classify, pixel_size
from service.inputs import read_digit_inputs
from service.openapi import error_responses
from service.responses import OrjsonResponse, prediction_body
from service.schemas import DigitBatchPrediction, DigitPrediction

router = APIRouter(tags=["digits"])


@router.post(
    "/predict/digit",
    response_model=DigitPrediction | DigitBatchPrediction,
    responses=error_responses(400, 404, 408, 413, 415, 422, 429, 503),
    openapi_extra={"parameters": [model_parameter(DIGITS)]},
)
async def predict_digit(request: Request) -> OrjsonResponse:
    """Classify one or several handwritten digits (0–9).

    Send any of:
    - JSON `{"pixels": [[...]]}`: 28 rows of 28 numbers, 0 = background to 255 = ink (MNIST
      polarity, used as given);
    - JSON `{"image": "<base64>"}`, a raw image body (`image/png`, `image/jpeg`, ...) or a
      `multipart/form-data` upload in field `file`: any size, either polarity; the digit is cropped,
      scaled to 20×20 and centred by mass like MNIST;
    - JSON `{"instances": [...]}` with up to `SERVING_MAX_INSTANCES_PER_REQUEST` (64)
      pixels/image objects, answered as `{"predictions": [...]}` in the same order.
    """
    async with admitted_version(request, DIGITS, requested_model(request)) as version:
        max_instances = settings_of(request).max_instances_per_request
        decoder = request.app.state.decoder
        inputs = await read_digit_inputs(request, pixel_size(version), max_instances, decoder)
        predictions = await classify(version, inputs.pixels)
        return OrjsonResponse(prediction_body(predictions, inputs.batched, version.ref))
