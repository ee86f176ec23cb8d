"""The bundled training corpus: a generator of varied hotline records for the demo taxonomy.

``python -m chalicelib.dispatch.corpus --out data/dispatch`` rewrites ``corpus.csv`` and
``heldout.csv`` deterministically. Only the corpus build needs this package; prediction never
imports it.
"""
