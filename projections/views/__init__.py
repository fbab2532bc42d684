"""The read models, one module per view, each a vectorized fold over the `events` relation.

Every module builds DuckDB SQL over relation names; `projections.engine.define_views` wires them into a
connection for one cut. `polars_card_units` is the same card-unit fold in Polars, the second engine the
equivalence suite holds to the reference.
"""
