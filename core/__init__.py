"""cardtrace's pure domain core: decide, then evolve. Standard library only; no I/O, no clock.

>>> from datetime import UTC, datetime
>>> from core.commands import Actor, CreateJob
>>> from core.envelope import EventContext
>>> from core.plant import Plant, execute
>>> from projections.data_dir import DEFAULT_FACTORY, load_factory  # an adapter, outside core
>>> plant = Plant(factory=load_factory(DEFAULT_FACTORY))
>>> when = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
>>> command = CreateJob(context=EventContext(occurred_at=when), actor=Actor(subject="PLN-1", role="planner"),
...                     job_id="J1044", product_id="base-18up", sets=2, customer="Topps", due_date="2026-12-01")
>>> plant, events = execute(plant, command, recorded_at=when)
>>> [event.event_type for event in events]
['JobCreated', 'SheetCreated', 'SheetCreated']
"""
