"""The run engine, inside: a run is plain data (``RunState``, ``RunDeps``) and steps.

``model_step`` streams one model call, ``tool_step`` runs that call's tools, and each
returns the ``NextStep``; ``run`` is a small driver that matches on it. The recorder
turns what the steps produce into stored rows and bus events. Private: the public
face is ``AISession`` (the handle of one prepared run) and ``AgentRuntime``.
"""
