"""POST /sentiment: is a movie review positive or negative?"""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.admission import admitted_version
from service.catalog import SENTIMENT
from service.dependencies import model_parameter, requested_model, settings_of
from service.inputs import read_texts
from service.openapi import error_responses
from service.responses import OrjsonResponse, prediction_body
from service.schemas import SentimentBatchPrediction, SentimentPrediction
from service.sentiment import score

router = APIRouter(tags=["sentiment"])


@router.post(
    "/sentiment",
    response_model=SentimentPrediction | SentimentBatchPrediction,
    responses=error_responses(404, 408, 413, 415, 422, 429, 503),
    openapi_extra={"parameters": [model_parameter(SENTIMENT)]},
)
async def sentiment(request: Request) -> OrjsonResponse:
    """Score English movie reviews: `score` is P(positive), `label` is positive when it is ≥ 0.5.

    Send `{"text": "..."}`, or `{"texts": [...]}` (up to
    `SERVING_MAX_INSTANCES_PER_REQUEST`, 64) for `{"predictions": [...]}` in the same order. The
    models were trained on IMDB reviews cut to their last 200 words: a longer text is tokenised
    whole and only its **last 200 tokens** are scored (reviews tend to end on their verdict).
    Texts over `SERVING_MAX_TEXT_CHARS` characters (100 000) are refused with 413.
    """
    async with admitted_version(request, SENTIMENT, requested_model(request)) as version:
        settings = settings_of(request)
        inputs = await read_texts(
            request, settings.max_instances_per_request, settings.max_text_chars
        )
        predictions = await score(version, inputs.texts)
        return OrjsonResponse(prediction_body(predictions, inputs.batched, version.ref))
