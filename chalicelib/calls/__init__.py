"""The call centre (CTI): call records from the call-centre system, their statistics and a simulator.

* :mod:`records` - one call record, checked (pure);
* :mod:`simulator` - a realistic day of calls for the demo (pure, seeded).

Storage is :mod:`chalicelib.store.calls`, the use cases :mod:`chalicelib.services.calls`.
"""
