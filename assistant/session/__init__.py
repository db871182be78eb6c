"""The pure session core: the state table, the engine with its events and actions, the work
timer, the command phrases, what Duet says, the clocks, the runner loop and the rehearsal port.
Synchronous and free of I/O: it imports nothing from ``speech`` or ``journal``; they reach it
through the small protocols it defines (``SessionLog``, ``Store``, ``Port``)."""
