"""Traceability: any id or barcode in one search box, answered as the fixture plant knows it, at any moment."""

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from tests.apps.dashboard.conftest import FixturePlant, open_page, travel


def search(app: AppTest, query: str) -> AppTest:
    app.text_input(key="trace_query").input(query).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


@pytest.fixture
def traceability(plant: FixturePlant) -> AppTest:
    return open_page(plant.analyst_token, "traceability")


def test_an_empty_search_box_says_what_it_takes(traceability: AppTest) -> None:
    assert "Scan a barcode or type the id" in traceability.info[0].value


def test_a_card_shows_its_state_lineage_timeline_and_qa_attempts(traceability: AppTest) -> None:
    app = search(traceability, "J1001-S001-05")

    assert app.subheader[0].value == "Card unit J1001-S001-05"
    assert metrics(app) == {
        "Status": "voided",
        "Station": "QA-BENCH-3",
        "QA": "FAIL",
        "Serial number": "—",
        "Memorabilia": "—",
    }
    assert [button.label for button in app.main.button] == [
        "Job: J1001",
        "Sheet: J1001-S001",
        "Replaced by: J1001-S001-05-R1",
    ]
    timeline, attempts = (frame.value for frame in app.dataframe)
    assert timeline["event_type"].tolist() == [
        "CardUnitCreated",
        "OperationStarted",
        "QAResultRecorded",
        "OperationStarted",
        "QAResultRecorded",
        "CardUnitVoided",
        "CardUnitReplaced",
    ]
    assert timeline["outcome"].tolist()[-2:] == [
        "voided by MGR-1: failed QA twice: ink spot",
        "replaced by J1001-S001-05-R1",
    ]
    assert attempts[["attempt", "station_id", "operator_id", "result", "failure_codes"]].values.tolist() == [
        [1, "QA-BENCH-3", "OP-13", "FAIL", "INK-SPOT"],
        [2, "QA-BENCH-3", "OP-13", "FAIL", "INK-SPOT"],
    ]


def test_a_replacement_shows_what_it_replaces_its_set_and_its_pack(traceability: AppTest) -> None:
    app = search(traceability, "J1001-S001-05-R1")

    assert metrics(app)["Status"] == "packed"
    assert [button.label for button in app.main.button] == [
        "Job: J1001",
        "Sheet: J1001-S001",
        "Replaces: J1001-S001-05",
        "Set: A-J1001-S001",
        "Pack: J1001-P0001",
    ]
    assert "created as the replacement of J1001-S001-05" in app.dataframe[0].value["outcome"].tolist()


def test_a_serialized_card_shows_its_number_and_memorabilia(traceability: AppTest) -> None:
    app = search(traceability, "J1002-S001-02")

    assert metrics(app) | {} == {
        "Status": "assembled",
        "Station": "ASSEMBLY-1",
        "QA": "PASS",
        "Serial number": "01/1",
        "Memorabilia": "M-000102",
    }


def test_a_memorabilia_item_finds_the_card_that_holds_it(traceability: AppTest) -> None:
    app = search(traceability, "M-000103")

    assert app.subheader[0].value == "Card unit J1002-S001-03"


def test_a_scanned_barcode_with_a_gs1_prefix_is_understood(traceability: AppTest) -> None:
    app = search(traceability, "(01)J1001-S001-07")

    assert app.subheader[0].value == "Card unit J1001-S001-07"
    assert app.dataframe[1].value["result"].tolist() == ["FAIL", "PASS"]


def test_a_sheet_shows_its_cards_by_position_and_status(traceability: AppTest) -> None:
    app = search(traceability, "J1001-S001")

    assert metrics(app) == {
        "Status": "cut",
        "Station": "CUT-1",
        "Operations done": "press, foil, cut",
        "Product": "base-18up",
    }
    cards = app.dataframe[0].value
    assert cards["position"].tolist() == list(range(1, 19))
    assert cards.set_index("position")["status"].to_dict() == {
        p: "voided" if p == 5 else "packed" for p in range(1, 19)
    }
    assert cards.set_index("position").loc[5, "replaced_by"] == "J1001-S001-05-R1"


def test_a_set_shows_present_and_missing_positions_and_the_absence_alert(traceability: AppTest) -> None:
    app = search(traceability, "A-J1002-S001")

    assert metrics(app) == {
        "Status": "in_progress",
        "Present": "2 of 9",
        "Missing positions": "7",
        "Absent past timeout": "7",
    }
    positions = app.dataframe[0].value
    assert positions["state"].tolist() == ["present"] * 2 + ["absent past timeout"] * 7
    assert app.error[0].value.startswith("Positions 03, 04, 05, 06, 07, 08, 09 are still absent")


def test_a_pack_shows_its_contents_and_the_override(traceability: AppTest) -> None:
    app = search(traceability, "J1001-P0001")

    assert metrics(app)["Card units"] == "18"
    assert metrics(app)["Override"] == "yes"
    cards = app.dataframe[0].value
    assert "J1001-S001-05-R1" in cards["card_unit_id"].tolist()
    assert "J1001-S001-05" not in cards["card_unit_id"].tolist()
    assert app.warning[0].value == "Packed under MGR-1's override: position 05 is the replacement R1"


def test_a_job_shows_its_progress_and_genealogy(traceability: AppTest) -> None:
    app = search(traceability, "J1001")

    assert metrics(app) == {
        "Product": "base-18up",
        "Customer": "Apex Collectibles",
        "Due": "2026-11-20",
        "Sets packed": "1 of 2",
        "Sheets cut": "1",
        "Sets complete": "1",
        "Card units": "19",
    }
    assert app.selectbox(key="genealogy_expand").options == ["J1001-S001", "J1001-S002"]
    assert "J1001-P0001" in app.selectbox(key="job_drill").options


def test_drilling_down_opens_the_chosen_entity(traceability: AppTest) -> None:
    app = search(traceability, "J1001-S001")

    app.selectbox(key="sheet_drill").select("J1001-S001-07").run()

    assert app.text_input(key="trace_query").value == "J1001-S001-07"
    assert app.subheader[0].value == "Card unit J1001-S001-07"


def test_a_link_with_a_query_opens_that_entity(plant: FixturePlant) -> None:
    app = open_page(plant.analyst_token, "traceability")
    app.query_params["q"] = "A-J1001-S001"
    app.run()

    assert app.subheader[0].value == "Set A-J1001-S001"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("garbage", "barcode 'garbage' is not a cardtrace id"),
        ("J1001-S01", "sheet part 'S01' must be 'S' and 3 digits"),
        ("J1001-S001-7", "position '7' must be 2 digits"),
        ("QA-BENCH-3", "QA-BENCH-3 is a station"),
        ("J9999", "No job J9999 in this plant."),
        ("J1001-S002-04", "No card unit J1001-S002-04 in this plant."),
        ("A-J1001-S002", "No set A-J1001-S002 in this plant."),
    ],
)
def test_bad_or_unknown_input_gets_a_clear_message_not_an_exception(
    traceability: AppTest, query: str, message: str
) -> None:
    app = search(traceability, query)

    assert len(app.warning) == 1
    assert message in app.warning[0].value
    assert not app.subheader


def test_before_the_cut_the_card_does_not_exist_yet_and_the_sheet_is_at_the_foil(plant: FixturePlant) -> None:
    app = open_page(plant.analyst_token, "traceability", as_of=plant.cut_at - timedelta(minutes=1))

    search(app, "J1001-S001-05")
    assert app.warning[0].value == "No card unit J1001-S001-05 in this plant at that moment."

    search(app, "J1001-S001")
    assert metrics(app)["Status"] == "in_progress"
    assert metrics(app)["Station"] == "FOIL-1"
    assert metrics(app)["Operations done"] == "press"
    assert "Not cut yet" in app.info[0].value


def test_as_of_the_first_qa_attempt_the_card_has_failed_once(plant: FixturePlant) -> None:
    app = open_page(plant.analyst_token, "traceability", as_of=plant.cut_at + timedelta(minutes=2))

    search(app, "J1001-S001-05")

    assert metrics(app)["Status"] == "qa_failed"
    assert app.dataframe[1].value["attempt"].tolist() == [1]


def test_as_known_before_the_late_sync_the_set_was_not_opened(plant: FixturePlant) -> None:
    app = open_page(plant.analyst_token, "traceability", known_at=plant.late_sync_at - timedelta(minutes=1))

    search(app, "A-J1002-S001")
    assert app.warning[0].value == "No set A-J1002-S001 in this plant at that moment."

    search(app, "J1001-S002")
    assert metrics(app)["Station"] == "PRESS-2"

    travel(app, known_at=plant.late_sync_at)
    assert metrics(app)["Station"] == "FOIL-1"
