"""The ticket flow: deadlines that act by themselves (Step Functions timers, warnings, urging, supervision).

* ``schedule`` - pure: what is due on a ticket now (a yellow or red warning, an automatic urging, a
  supervision) and when the flow should next wake;
* ``timers`` - applies what is due, one transition (one transaction) at a time, as the system;
* ``executions`` / ``records`` - the Step Functions executions (one per ticket, named after it) and
  the ``WORKFLOW`` item that says which one is current;
* ``starter`` - the table-stream consumer that starts a ticket's flow when it is accepted and
  re-arms it when a change brings a checkpoint forward;
* ``handlers`` - the workflow-queue messages the state machine hands to Python;
* ``sweeper`` - the 5-minute backstop (through GSI4, never a scan);
* ``monitoring`` - signed / status / replied / satisfaction counts for a caller's scope.

The state machine itself is ``stepfunctions/ticket_flow.asl.json``.
"""
