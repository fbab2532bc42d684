"""The plant's behaviour beyond its configuration: demand, pace, quality, losses and the anomalies to inject.

`data/factory.toml` says what the plant *is* (stations, products, operation DAGs); a `Scenario` says how it
*behaves* over a run: how many jobs arrive, how long operations really take, how often cards fail QA, lose
themselves or wait for a scanner to sync, and which faults are injected for the detectors to find. Defaults
load the demo plant to roughly 85% of its bottlenecks, so queues form without growing without bound.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True, slots=True)
class JobMix:
    """How a product's jobs look: its share of arrivals, run sizes (lognormal) and lead time to the due date."""

    share: float
    median_sets: float
    sets_sigma: float = 0.45
    min_sets: int = 8
    max_sets: int = 400
    lead_days: tuple[int, int] = (7, 21)  # working-ish days between arrival and due date, uniform
    base_failure_rate: float = 0.03  # first-inspection QA failure rate of an ordinary card at a neutral hour


DEFAULT_MIX: dict[str, JobMix] = {
    "base-18up": JobMix(share=0.6, median_sets=65, max_sets=400, base_failure_rate=0.025),
    "numbered-9up": JobMix(share=0.4, median_sets=30, max_sets=150, base_failure_rate=0.04),
}
FALLBACK_MIX = JobMix(share=0.2, median_sets=40)

CUSTOMERS = (
    "Apex Collectibles",
    "Gridiron Classics",
    "Hoopline Cards",
    "Pitch & Post",
    "Starfield Trading Co.",
    "Northwind Card Co.",
    "Summit Sports Cards",
    "Redline Racing Cards",
)

# QA failure codes by what failed; the reason is the code's plain-language meaning.
PRINT_DEFECTS = {
    "PRINT-REG": "print registration off",
    "INK-SPOT": "ink spot on the face",
    "CENTERING": "image off-centre",
    "CORNER-DING": "dinged corner",
    "EDGE-CHIP": "chipped edge from the cut",
}
FOIL_DEFECTS = {"FOIL-INCOMPLETE": "foil stamping incomplete", "FOIL-FLAKE": "foil flaking"}
NUMBERED_DEFECTS = {"SERIAL-SMUDGE": "serial number smudged", "MEMO-WINDOW": "memorabilia window misaligned"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Scenario:
    # --- demand ---
    jobs_per_day: float = 6.0  # job arrivals per weekday, in office hours
    initial_jobs: int = 3  # jobs already waiting when the run starts, so the floor is busy from the first minute
    mix: dict[str, JobMix] = field(default_factory=lambda: dict(DEFAULT_MIX))
    office_hours: tuple[int, int] = (7 * 60, 17 * 60)  # when planners create jobs (minute of the day)

    # --- pace ---
    sheet_sigma: float = 0.18  # lognormal spread of a sheet operation around its station's pace
    card_sigma: float = 0.35  # card operations are hand work: longer tail
    operator_speed_sigma: float = 0.12
    setup_sigma: float = 0.25
    slow_operation_rate: float = 0.002  # share of timed operations injected as slow ones
    # A slow operation lasts this many times what it normally takes at its station with its operator: about 5 to 9
    # spreads beyond normal for machine (sheet) work and 4 to 6 for hand (card) work, whose normal tail is wider.
    # Subtler slowdowns are normal variation by construction; a station slowing for good is the drift's business.
    slow_operation_factor: tuple[float, float] = (2.5, 5.0)
    slow_card_operation_factor: tuple[float, float] = (4.0, 8.0)

    # --- quality ---
    operator_strictness_sigma: float = 0.25
    edge_position_factor: float = 1.6  # first and last positions on a sheet sit near the gripper and the trim
    late_hour_factor: float = 1.5  # the last two hours of the day, and the first of a shift
    rework_failure_factor: float = 0.45  # a reworked card fails its next look this much as often
    strict_bench: str = "QA-BENCH-3"  # a bench whose light and loupe find more
    strict_bench_factor: float = 1.3
    weak_press: str = "PRESS-2"  # an older press: more registration defects
    weak_press_factor: float = 1.25

    # --- losses, voids, make-up ---
    lost_card_rate: float = 0.0008  # per card, at each hand-off after the cut and after QA
    lost_found_share: float = 0.7  # the rest are never found; their set ships short with a manager's override
    lost_found_hours: tuple[float, float] = (0.5, 6.0)  # working hours until a lost card turns up
    write_off_hours: tuple[float, float] = (2.0, 6.0)  # working hours a manager waits before shipping a set short
    void_review_minutes: tuple[float, float] = (15.0, 90.0)  # a manager reviews a card that used its QA attempts
    makeup_every_minutes: float = 120.0  # the planner batches voided cards onto make-up sheets this often
    rework_minutes: float = 12.0  # median off-system rework before a failed card is inspected again

    # --- offline scanners ---
    offline_stations: tuple[str, ...] = ("PACK-1", "QA-BENCH-2")
    offline_every_days: float = 3.0  # working days between a station's outages, on average
    offline_hours: tuple[float, float] = (0.75, 3.0)  # how long a scanner stays offline before it syncs

    # --- injected anomalies (ground truth in truth.parquet) ---
    foil_die_station: str = "FOIL-1"
    foil_die_window: tuple[float, float] = (0.35, 0.5)  # share of the run's working time it spans
    foil_die_failure_rate: float = 0.25  # extra QA failure probability of a card from a sheet foiled meanwhile
    elevated_operator_factor: float = 4.0  # one QA inspector fails cards this many times as often
    drift_station: str = "PRESS-2"
    drift_onset: float = 0.3  # share of the run's working time before the station starts slowing
    drift_final_factor: float = 1.6  # its pace at the end of the run, relative to normal
    inject_anomalies: bool = True
    offline_scanners: bool = True


LIVE_SCENARIO = Scenario(
    jobs_per_day=60.0,
    initial_jobs=4,
    mix={
        "base-18up": JobMix(share=0.6, median_sets=4, sets_sigma=0.3, min_sets=2, max_sets=8, lead_days=(2, 5)),
        "numbered-9up": JobMix(share=0.4, median_sets=3, sets_sigma=0.3, min_sets=2, max_sets=6, lead_days=(2, 5)),
    },
    office_hours=(0, 24 * 60),
    inject_anomalies=False,
    offline_scanners=False,
)
"""A small, steady trickle for the live demo: small jobs around the clock, no injected faults."""
