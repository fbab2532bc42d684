"""Jobs: a planner creates one (its sheets at once); everyone reads the list, a job's progress and its estimate."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from ingest.api.plant import answer, plant_of
from ingest.api.reading import time_travel
from ingest.api.render import job_json, json_response, text_response
from ingest.auth import actor_of, permitted
from ingest.queries import TimeTravel
from ingest.schemas import EstimatedCompletionOut, JobId, JobIn, JobOut, JobsOut, ProgressOut, refusals
from ingest.tokens import Credential

router = APIRouter(tags=["jobs"])

JobPath = Annotated[JobId, Path(description="A job id", examples=["J1044"])]


@router.post(
    "/jobs",
    status_code=201,
    response_model=JobOut,
    summary="Create a job and its sheets",
    responses=refusals(409),
)
def post_job(body: JobIn, request: Request, credential: Annotated[Credential, Depends(permitted("plan"))]) -> Response:
    outcome = plant_of(request).scans.create_job(
        product=body.product,
        sets=body.sets,
        customer=body.customer,
        due_date=body.due_date.isoformat(),
        job_id=body.job_id,
        actor=actor_of(credential),
    )
    return text_response(job_json(outcome), 201)


@router.get("/jobs", response_model=JobsOut, summary="Every job", responses=refusals())
async def get_jobs(
    request: Request,
    when: Annotated[TimeTravel, Depends(time_travel)],
    _: Annotated[Credential, Depends(permitted("read"))],
) -> Response:
    return await answer(request, lambda reads: json_response(reads.jobs(when)))


@router.get("/jobs/{job_id}/progress", response_model=ProgressOut, summary="Cards per status", responses=refusals(404))
async def get_job_progress(
    job_id: JobPath,
    request: Request,
    when: Annotated[TimeTravel, Depends(time_travel)],
    _: Annotated[Credential, Depends(permitted("read"))],
) -> Response:
    return await answer(request, lambda reads: json_response(reads.job_progress(job_id, when)))


@router.get(
    "/jobs/{job_id}/estimated-completion",
    response_model=EstimatedCompletionOut,
    summary="When the job is expected to be packed, from a schedule of the plant's actual state",
    responses=refusals(404),
)
def get_estimated_completion(
    job_id: JobPath,
    request: Request,
    when: Annotated[TimeTravel, Depends(time_travel)],
    _: Annotated[Credential, Depends(permitted("read"))],
) -> Response:
    return json_response(plant_of(request).reads.estimated_completion(job_id, when))
