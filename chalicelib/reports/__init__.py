"""Reports: monthly, quarterly, annual and special analysis reports, and the ledger (台账).

A report is a job (:mod:`jobs`) worked through the ``reports`` queue: :mod:`builder` gathers the
figures from the analytics counters, :mod:`render` turns them into a printable Chinese HTML page
with inline SVG charts (:mod:`charts`), :mod:`ledger` writes the tickets of the period as an xlsx
sheet, :mod:`storage` keeps both in the versioned reports bucket and hands out presigned links,
and :mod:`delivery` e-mails the subscribers. :mod:`schedule` says which reports fall due when.
"""
