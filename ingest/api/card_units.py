"""Card units: a manager voids one, a manager or planner orders its replacement; everyone reads its life."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response

from core.errors import InvalidId
from core.ids import parse_card_unit_id
from ingest.api.plant import answer, plant_of
from ingest.api.reading import time_travel
from ingest.api.render import json_response, replacement_json, text_response, void_json
from ingest.auth import actor_of, permitted
from ingest.queries import TimeTravel
from ingest.schemas import CardUnitOut, ReplacementIn, ReplacementOut, VoidIn, VoidOut, refusals
from ingest.tokens import Credential

router = APIRouter(tags=["card units"])


def _card_unit_id(text: str) -> str:
    try:
        return parse_card_unit_id(text).card_unit_id
    except InvalidId as error:
        raise ValueError(error.message) from None


CardUnitPath = Annotated[str, Path(max_length=40, description="A card unit id", examples=["J1044-S003-07"])]


@router.post(
    "/card-units/{card_unit_id}/void",
    response_model=VoidOut,
    summary="Void a card unit (a manager's decision: it is scrap)",
    responses=refusals(404, 409),
)
def post_void(
    card_unit_id: CardUnitPath,
    body: VoidIn,
    request: Request,
    credential: Annotated[Credential, Depends(permitted("void"))],
) -> Response:
    outcome = plant_of(request).scans.void_card_unit(card_unit_id, reason=body.reason, actor=actor_of(credential))
    return text_response(void_json(outcome))


@router.post(
    "/card-units/{card_unit_id}/replacements",
    status_code=201,
    response_model=ReplacementOut,
    summary="Order the replacement of a voided card unit",
    responses=refusals(404, 409),
)
def post_replacement(
    card_unit_id: CardUnitPath,
    request: Request,
    credential: Annotated[Credential, Depends(permitted("replace"))],
    body: Annotated[ReplacementIn | None, Body()] = None,
) -> Response:
    outcome = plant_of(request).scans.create_replacement(
        card_unit_id,
        actor=actor_of(credential),
        printed_on_sheet_id=body.printed_on_sheet_id if body else None,
    )
    return text_response(replacement_json(outcome), 201)


@router.get(
    "/card-units/{card_unit_id}",
    response_model=CardUnitOut,
    summary="A card unit: state, full history (oldest first) and lineage",
    responses=refusals(404),
)
async def get_card_unit(
    card_unit_id: CardUnitPath,
    request: Request,
    when: Annotated[TimeTravel, Depends(time_travel)],
    _: Annotated[Credential, Depends(permitted("read"))],
) -> Response:
    return await answer(request, lambda reads: json_response(reads.card_unit(card_unit_id, when)))
