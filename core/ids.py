"""Lineage-bearing identities (CONTRACTS section 1).

Ids are plain strings everywhere outside this module; these parsers are the one place that knows their
grammar. Parsing is total: a malformed id raises InvalidId naming the part that is wrong.

>>> parse_card_unit_id("J1044-S003-07-R1").sheet_id
'J1044-S003'
>>> parse_entity_id("(01)J1044-S003").kind
'sheet'
"""

import functools
import re
from dataclasses import dataclass
from typing import Literal

from core.errors import InvalidId

EntityKind = Literal["job", "sheet", "card_unit", "assembly", "pack", "station", "operator", "memorabilia"]

# ASCII: a barcode's digits are 0-9, never another script's digits that `\d` would otherwise accept.
_JOB = re.compile(r"J\d{4,}", re.ASCII)
_SHEET_NO = re.compile(r"S\d{3}", re.ASCII)
_POSITION = re.compile(r"\d{2}", re.ASCII)
_REPLACEMENT = re.compile(r"R[1-9]\d*", re.ASCII)
_PACK_NO = re.compile(r"P\d{4}", re.ASCII)
_STATION = re.compile(r"[A-Z]+(?:-[A-Z]+)*-\d+", re.ASCII)
_OPERATOR = re.compile(r"OP-\d+", re.ASCII)
_MEMORABILIA = re.compile(r"M-\d{6}", re.ASCII)
_GS1_PREFIX = re.compile(r"^(?:\]C1|\]Q3|\(\d{2,4}\)|urn:epc:id:[a-z]+:)", re.ASCII)


@dataclass(frozen=True, kw_only=True, slots=True)
class CardUnitRef:
    """A parsed card-unit id: where it was printed in the run and, for a replacement, which one."""

    card_unit_id: str
    job_id: str
    sheet_id: str
    sheet_number: int
    position: int
    replacement_number: int  # 0 for an original card unit

    @property
    def original_id(self) -> str:
        return f"{self.sheet_id}-{self.position:02d}"


@dataclass(frozen=True, kw_only=True, slots=True)
class EntityRef:
    """What a barcode names: the kind of entity and its canonical id."""

    kind: EntityKind
    entity_id: str


def job_id(number: int) -> str:
    if number < 0:
        raise InvalidId(f"job number must be >= 0, got {number}")
    return f"J{number:04d}"


def sheet_id(job: str, sheet_number: int) -> str:
    if not 1 <= sheet_number <= 999:
        raise InvalidId(f"sheet number must be 1..999, got {sheet_number}")
    return f"{parse_job_id(job)}-S{sheet_number:03d}"


def card_unit_id(sheet: str, position: int) -> str:
    if not 1 <= position <= 99:
        raise InvalidId(f"position must be 1..99, got {position}")
    return f"{parse_sheet_id(sheet)}-{position:02d}"


def replacement_id(original: str, replacement_number: int) -> str:
    ref = parse_card_unit_id(original)
    if replacement_number < 1:
        raise InvalidId(f"replacement number must be >= 1, got {replacement_number}")
    return f"{ref.original_id}-R{replacement_number}"


def assembly_id(sheet: str) -> str:
    return f"A-{parse_sheet_id(sheet)}"


def pack_id(job: str, pack_number: int) -> str:
    if not 1 <= pack_number <= 9999:
        raise InvalidId(f"pack number must be 1..9999, got {pack_number}")
    return f"{parse_job_id(job)}-P{pack_number:04d}"


def _expect(pattern: re.Pattern[str], text: str, what: str) -> None:
    if not pattern.fullmatch(text):
        raise InvalidId(what)


@functools.lru_cache(maxsize=1 << 16)
def parse_job_id(text: str) -> str:
    _expect(_JOB, text, f"job id {text!r} must be 'J' followed by at least 4 digits")
    return text


@functools.lru_cache(maxsize=1 << 16)
def parse_sheet_id(text: str) -> str:
    parts = text.split("-")
    if len(parts) != 2:
        raise InvalidId(f"sheet id {text!r} must be <job>-S<3 digits>, e.g. J1044-S003")
    parse_job_id(parts[0])
    _expect(_SHEET_NO, parts[1], f"sheet id {text!r}: sheet part {parts[1]!r} must be 'S' and 3 digits")
    if parts[1] == "S000":
        raise InvalidId(f"sheet id {text!r}: sheet numbers start at S001")
    return text


@functools.lru_cache(maxsize=1 << 16)
def parse_card_unit_id(text: str) -> CardUnitRef:
    parts = text.split("-")
    if len(parts) not in (3, 4):
        raise InvalidId(f"card unit id {text!r} must be <sheet>-<2-digit position>[-R<n>], e.g. J1044-S003-07")
    sheet = parse_sheet_id(f"{parts[0]}-{parts[1]}")
    _expect(_POSITION, parts[2], f"card unit id {text!r}: position {parts[2]!r} must be 2 digits")
    position = int(parts[2])
    if position == 0:
        raise InvalidId(f"card unit id {text!r}: positions start at 01")
    replacement = 0
    if len(parts) == 4:
        _expect(_REPLACEMENT, parts[3], f"card unit id {text!r}: replacement part {parts[3]!r} must be R<n>, n >= 1")
        replacement = int(parts[3][1:])
    return CardUnitRef(
        card_unit_id=text,
        job_id=parts[0],
        sheet_id=sheet,
        sheet_number=int(parts[1][1:]),
        position=position,
        replacement_number=replacement,
    )


def parse_assembly_id(text: str) -> str:
    if not text.startswith("A-"):
        raise InvalidId(f"assembly id {text!r} must be 'A-' followed by a sheet id, e.g. A-J1044-S003")
    parse_sheet_id(text[2:])
    return text


def sheet_of_assembly(assembly: str) -> str:
    return parse_assembly_id(assembly)[2:]


def parse_pack_id(text: str) -> str:
    parts = text.split("-")
    if len(parts) != 2:
        raise InvalidId(f"pack id {text!r} must be <job>-P<4 digits>, e.g. J1044-P0001")
    parse_job_id(parts[0])
    _expect(_PACK_NO, parts[1], f"pack id {text!r}: pack part {parts[1]!r} must be 'P' and 4 digits")
    return text


@functools.lru_cache(maxsize=1 << 12)  # a plant has few; every scan names them
def parse_station_id(text: str) -> str:
    _expect(
        _STATION,
        text,
        f"station id {text!r} must be an upper-case type prefix, '-' and a number, e.g. QA-BENCH-3",
    )
    return text


def station_type_prefix(station: str) -> str:
    return parse_station_id(station).rsplit("-", 1)[0]


@functools.lru_cache(maxsize=1 << 12)  # a plant has few; every scan names them
def parse_operator_id(text: str) -> str:
    _expect(_OPERATOR, text, f"operator id {text!r} must be 'OP-' followed by digits, e.g. OP-42")
    return text


def parse_memorabilia_id(text: str) -> str:
    _expect(_MEMORABILIA, text, f"memorabilia id {text!r} must be 'M-' followed by 6 digits, e.g. M-000123")
    return text


def strip_barcode(barcode: str) -> str:
    """The id a scanner read, without whitespace or a GS1-style symbology/application-identifier prefix."""
    text = barcode.strip()
    return _GS1_PREFIX.sub("", text, count=1)


@functools.lru_cache(maxsize=1 << 16)
def parse_entity_id(barcode: str) -> EntityRef:
    """Classify a scanned barcode by its grammar; exactly one entity kind matches a valid id."""
    text = strip_barcode(barcode)
    if not text:
        raise InvalidId("barcode is empty")
    if text.startswith("A-"):
        return EntityRef(kind="assembly", entity_id=parse_assembly_id(text))
    if text.startswith("OP-"):
        return EntityRef(kind="operator", entity_id=parse_operator_id(text))
    if text.startswith("M-"):
        return EntityRef(kind="memorabilia", entity_id=parse_memorabilia_id(text))
    if text.startswith("J"):
        parts = text.split("-")
        if len(parts) == 1:
            return EntityRef(kind="job", entity_id=parse_job_id(text))
        if len(parts) == 2 and parts[1].startswith("P"):
            return EntityRef(kind="pack", entity_id=parse_pack_id(text))
        if len(parts) == 2:
            return EntityRef(kind="sheet", entity_id=parse_sheet_id(text))
        return EntityRef(kind="card_unit", entity_id=parse_card_unit_id(text).card_unit_id)
    if _STATION.fullmatch(text):
        return EntityRef(kind="station", entity_id=text)
    raise InvalidId(
        f"barcode {barcode!r} is not a cardtrace id (job J1044, sheet J1044-S003, card J1044-S003-07, "
        "assembly A-J1044-S003, pack J1044-P0001, station QA-BENCH-3, operator OP-42, memorabilia M-000123)"
    )
