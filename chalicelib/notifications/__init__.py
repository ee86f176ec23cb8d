"""The one notification port: in-app inbox always, e-mail and SMS where the person has an address.

``port.notify`` queues notifications (the ``notify`` queue); the queue's handler delivers each to
its audience's users: an inbox item always, and an e-mail / SMS through the configured adapters,
which wait for working hours unless the notification is urgent (``quiet_hours``). ``events`` turns
committed warnings, urgings and supervisions into notifications.
"""
