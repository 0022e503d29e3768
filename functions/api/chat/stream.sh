#!/bin/sh
# The Lambda Web Adapter's start script (the function's Handler, run by AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap):
# the streaming chat completions server (api/chat/stream_server.py) on AWS_LWA_PORT, else PORT, else 8080.
# The task root is the working directory (python3 -m puts it first on sys.path). Lambda's PYTHONPATH is
# only the runtime's own directory: the managed runtime's bootstrap adds the layers to sys.path itself, so
# a script it execs adds the parley layer (/opt/python: parley and its dependencies) here.
PYTHONPATH="/opt/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
exec python3 -m api.chat.stream_server
