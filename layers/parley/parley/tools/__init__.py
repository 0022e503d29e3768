"""Tools an agent can call: definitions and their validation, and one executor per kind of execution.

* ``definitions`` - the wire shape (OpenAI's ``{type: "function", function: {...}}`` plus Parley's
  ``execution``) and its checks on write (JSON Schema via ``jsonschema``, imported only there);
* ``builtin`` - tools Parley itself provides (finish_job, knowledge search, memory);
* ``client`` - tools the API's client runs: the turn pauses in ``requires_action``;
* ``http`` - a POST (or other method) to a URL, signed as Standard Webhooks, behind ``network``'s guard;
* ``mcp`` - a remote MCP server over Streamable HTTP, through the official ``mcp`` SDK.

Imports go one way (DESIGN §5a): services -> agent -> tools -> store. Nothing here imports the agent
or the services; what a tool needs from above is handed to it.
"""
