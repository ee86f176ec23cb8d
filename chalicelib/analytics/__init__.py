"""Analytics: counters kept by a stream consumer, and everything read from them.

* :mod:`facts` derives what a ticket change *means* (received, signed on time, urged...) from the
  ticket item's old and new images;
* :mod:`counters` adds those facts to pre-aggregated counters in the single table, exactly once
  even when stream records are delivered again (see its docstring for the protocol), and reads
  them back for a period;
* :mod:`aggregator` is the stream consumer; :mod:`intake_watch` flags sensitive events and
  abuse patterns on new tickets;
* :mod:`statistics`, :mod:`templates`, :mod:`drilldown`, :mod:`assessment`, :mod:`hotspots` and
  :mod:`alerts` answer the statistics API, the scores and the alerts - reading counters only, so
  their cost does not grow with the number of tickets.
"""
