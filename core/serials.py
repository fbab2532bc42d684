"""Serial numbering policy (DECISIONS.md, "Serial numbers").

A serialized job of S sets numbers each position 1..S across its sheets: the card at position p of sheet k
carries k/S. The number follows the card's lineage, not the order cards reach the numbering station, so it
is unique per (job, position), leaves no gap once every sheet's card is numbered, and a voided card's number
is reused only by its own replacement, which shares its sheet and position.
"""

from core.ids import parse_card_unit_id


def serial_number_for(card_unit_id: str) -> int:
    return parse_card_unit_id(card_unit_id).sheet_number


def serial_label(serial_number: int, run_size: int) -> str:
    width = max(2, len(str(run_size)))
    return f"{serial_number:0{width}d}/{run_size}"
