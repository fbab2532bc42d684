"""The simulated plant's event log keeps every core invariant, replayed through the reference folds."""

from collections import Counter, defaultdict

from core.events import (
    CardUnitGathered,
    JobCreated,
    MemorabiliaItemAllocated,
    MemorabiliaItemReleased,
    PackSealed,
    SetPacked,
    SheetCut,
)
from core.ids import parse_card_unit_id
from tests.apps.simulate.conftest import SimulatedPlant


def test_the_plant_refused_none_of_the_simulated_scans_or_office_commands(plant: SimulatedPlant) -> None:
    assert plant.summary.refused_scans == 0, plant.summary.refusal_samples
    assert plant.summary.refused_commands == 0, plant.summary.refusal_samples
    assert plant.summary.events == len(plant.log)


def test_the_run_exercises_every_kind_of_floor_work(plant: SimulatedPlant) -> None:
    summary = plant.summary
    assert summary.jobs > summary.makeup_jobs > 0
    assert summary.sets_packed > 100
    assert summary.replacements > 0
    assert summary.sets_packed_with_override > 0
    assert summary.lost_never_found > 0
    assert summary.late_scans > 0
    assert 0.8 < summary.qa_pass_rate < 0.98
    assert {kind for kind, _ in summary.anomalies} >= {
        "slow_operation",
        "foil_die_failure",
        "operator_elevated_failure",
        "station_drift",
        "offline_scanner",
        "lost_card",
    }


def test_the_log_is_gapless_and_every_aggregate_counts_its_versions_from_one(plant: SimulatedPlant) -> None:
    assert [event.sequence_num for event in plant.log] == list(range(1, len(plant.log) + 1))
    versions: dict[str, int] = defaultdict(int)
    for event in plant.log:
        versions[event.aggregate_id] += 1
        assert event.aggregate_version == versions[event.aggregate_id], event


def test_every_card_unit_descends_from_exactly_one_cut_sheet(plant: SimulatedPlant) -> None:
    views = plant.views
    born_at_cut = {
        card: e.event.sheet_id for e in plant.log if isinstance(e.event, SheetCut) for card in e.event.card_unit_ids
    }
    makeup_jobs = {
        e.event.job_id for e in plant.log if isinstance(e.event, JobCreated) and e.event.customer == "MAKE-UP"
    }
    for card in views.card_units.values():
        lineage = parse_card_unit_id(card.card_unit_id)
        assert card.sheet_id == lineage.sheet_id
        assert views.sheets[card.sheet_id].status == "cut"
        if lineage.replacement_number == 0:
            assert born_at_cut[card.card_unit_id] == card.sheet_id
            continue
        predecessor = (
            lineage.original_id
            if lineage.replacement_number == 1
            else f"{lineage.original_id}-R{lineage.replacement_number - 1}"
        )
        assert card.replaces == predecessor
        assert views.card_units[predecessor].status == "voided"
        assert card.printed_on_sheet_id is not None
        assert card.printed_on_sheet_id.split("-")[0] in makeup_jobs


def test_no_card_unit_is_gathered_into_two_sets_or_sealed_in_two_packs(plant: SimulatedPlant) -> None:
    gathered = Counter(e.event.card_unit_id for e in plant.log if isinstance(e.event, CardUnitGathered))
    assert gathered
    assert max(gathered.values()) == 1
    for event in plant.log:
        if isinstance(event.event, CardUnitGathered):
            assert event.event.assembly_id == f"A-{parse_card_unit_id(event.event.card_unit_id).sheet_id}"
    packs = [e.event for e in plant.log if isinstance(e.event, PackSealed)]
    sealed = Counter(card for pack in packs for card in pack.card_unit_ids)
    assert sealed
    assert max(sealed.values()) == 1
    for pack in packs:
        assert {parse_card_unit_id(card).sheet_id for card in pack.card_unit_ids} == {pack.sheet_id}
    assert max(Counter(pack.assembly_id for pack in packs).values()) == 1


def test_serial_numbers_are_unique_per_job_and_position_among_live_cards(plant: SimulatedPlant) -> None:
    views = plant.views
    live = [c for c in views.card_units.values() if c.status != "voided" and c.serial_number is not None]
    assert live
    numbers = Counter((card.job_id, card.position, card.serial_number) for card in live)
    assert max(numbers.values()) == 1
    for card in live:
        assert card.serial_number == parse_card_unit_id(card.card_unit_id).sheet_number
        assert 1 <= card.serial_number <= card.serial_run_size


def test_a_memorabilia_item_is_in_at_most_one_live_card(plant: SimulatedPlant) -> None:
    views = plant.views
    held = Counter(c.memorabilia_id for c in views.card_units.values() if c.status != "voided" and c.memorabilia_id)
    assert held
    assert max(held.values()) == 1
    holder: dict[str, str | None] = {}
    for event in plant.log:
        match event.event:
            case MemorabiliaItemAllocated(memorabilia_id=item, card_unit_id=card):
                assert holder.get(item) is None, f"{item} allocated to {card} while in {holder.get(item)}"
                holder[item] = card
            case MemorabiliaItemReleased(memorabilia_id=item, card_unit_id=card):
                assert holder[item] == card
                holder[item] = None


def test_a_set_missing_a_card_or_holding_a_replacement_is_packed_only_with_a_managers_override(
    plant: SimulatedPlant,
) -> None:
    packed = [e.event for e in plant.log if isinstance(e.event, SetPacked)]
    exceptional = [p for p in packed if p.missing_positions or p.replacement_card_unit_ids]
    assert exceptional
    assert any(p.missing_positions for p in exceptional)
    for pack in exceptional:
        assert pack.override_reason
        assert pack.authorized_by == "MGR-1"
    for pack in packed:
        if not (pack.missing_positions or pack.replacement_card_unit_ids):
            assert pack.override_reason is None
