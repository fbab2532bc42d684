"""The lake: the Delta table of sealed events (`table`), its Arrow schema (`schema`) and its errors.

Nothing here is imported eagerly, so `projections.lake.errors` stays light for the layers that only map errors.
"""
