"""What the bridge's API takes and gives, as schemas: the OpenAPI document is built from
these, and a test validates the bodies actually sent against it."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from appointments import movements as agenda
from usmp.core import dates

REF_PATTERN = rf"^[A-Za-z0-9._-]{{1,{agenda.CLIENT_REF_MAX_LENGTH}}}$"


# -- Out ----------------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str


class MovementOut(Schema):
    id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Opaque and stable")
    prison_number: str
    start: datetime.datetime = Field(description="Local time with its UTC offset")
    end: datetime.datetime = Field(description="Local time with its UTC offset")
    location: str = Field(description="The movement point's code")
    status: Literal["scheduled", "cancelled"]


class FeedOut(Schema):
    """``bridge.feeds.as_json`` writes these bytes (compact UTF-8 JSON)."""

    generated_at: datetime.datetime
    horizon_end: datetime.datetime
    movements: list[MovementOut]


class PushOut(Schema):
    id: str
    status: Literal["recorded", "duplicate", "withdrawn"]


# -- In -----------------------------------------------------------------------------------------


def _agenda_year(value: datetime.date) -> datetime.date:
    """A pushed date or time whose year is far from today is refused (422) before it is used."""
    day = value.date() if isinstance(value, datetime.datetime) else value
    if not dates.AGENDA.contains(day):
        raise ValueError("implausible year")
    return value


AgendaDate = Annotated[datetime.date, AfterValidator(_agenda_year)]
AgendaDatetime = Annotated[AwareDatetime, AfterValidator(_agenda_year)]


class PushIn(BaseModel):
    """A push: plain pydantic, validated from the JSON bytes (ninja's Schema validates in
    Python mode, where a strict date refuses the ISO string). The id is the client's
    reference: the same id and body again is a duplicate; the same id with another body is
    a conflict (409)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=REF_PATTERN, description="The client's reference")


class CustodyEventIn(PushIn):
    """An arrival, release or transfer, with its date. No reason is asked."""

    prison_number: str = Field(min_length=1, max_length=32)
    kind: Literal["arrival", "release", "transfer"]
    date: AgendaDate


class UnavailabilityIn(PushIn):
    """The detainee cannot be brought between two times (court, visiting room...). No reason
    is asked. At most 7 days long, not over yet, at most a year ahead."""

    prison_number: str = Field(min_length=1, max_length=32)
    start: AgendaDatetime
    end: AgendaDatetime


class MovementOutcomeIn(PushIn):
    """What became of a published movement: done, or not performed with a code. The movement
    is named by the id the feed gave it; its window must have begun in the last 7 days."""

    movement_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    prison_number: str = Field(min_length=1, max_length=32)
    outcome: Literal["done", "not_performed"]
    code: Literal["escort_unavailable", "detainee_refused", "security_incident"] | None = Field(
        default=None, description="Required when not performed, absent when done"
    )


def request_body(schema: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of a push (JSON only: any other media type is a 415)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        }
    }
