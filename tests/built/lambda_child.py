"""One cold start and one invocation of a built function, the way the Lambda Python runtime does it.

Run by run_built_functions as ``python -I -S lambda_child.py <request.json> <result.json>``: no site,
no environment-driven paths, so the import path is exactly what the request names (the function's
build folder, the built layer, the runtime's boto3) plus the standard library.
Standard library only: nothing of the repository or its virtual environment is importable here.
"""

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class LambdaContext:
    """The context object the runtime passes to a handler."""

    def __init__(self, function_name, timeout_seconds, memory_mb, log_group, log_stream):
        self.function_name = function_name
        self.function_version = "$LATEST"
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = log_group
        self.log_stream_name = log_stream
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_of(exc, kind):
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def run(request):
    # The Lambda Python runtime's order: function code, layer, runtime's boto3, then the stdlib.
    stdlib = [p for p in sys.path if p]
    sys.path[:] = [*request["path"], *stdlib]
    # As on Lambda, where /var/task and /opt are read-only: bytecode the build ships is used, the rest
    # is compiled in memory at every start, and the artifacts stay as sam built them.
    sys.dont_write_bytecode = True
    os.chdir(request["task_root"])

    module_name, _, attribute = request["handler"].rpartition(".")
    started = time.monotonic()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        return {"error": error_of(exc, "Runtime.ImportModuleError")}
    try:
        handler = getattr(module, attribute)
    except AttributeError as exc:
        return {"error": error_of(exc, "Runtime.HandlerNotFound")}
    init_ms = (time.monotonic() - started) * 1000
    if not callable(handler):
        return {
            "error": {
                "kind": "Runtime.HandlerNotFound",
                "type": "TypeError",
                "message": f"{request['handler']} is not callable",
                "traceback": "",
            }
        }

    with open(request["event_path"], encoding="utf-8") as fh:
        event = json.load(fh)
    context = LambdaContext(
        request["function_name"],
        request["timeout"],
        request["memory"],
        os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
    )
    started = time.monotonic()
    try:
        result = handler(event, context)
    except Exception as exc:
        return {
            "init_ms": init_ms,
            "invoke_ms": (time.monotonic() - started) * 1000,
            "error": error_of(exc, "Runtime.UserCodeError"),
        }
    invoke_ms = (time.monotonic() - started) * 1000
    try:
        # The runtime answers with JSON: a result it cannot serialise is a failed invocation.
        serialised = json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {"init_ms": init_ms, "invoke_ms": invoke_ms, "error": error_of(exc, "Runtime.MarshalError")}
    return {"init_ms": init_ms, "invoke_ms": invoke_ms, "result": json.loads(serialised)}


def foreign_modules(allowed):
    """Modules loaded from outside the allowed folders and the standard library (must be none)."""
    roots = [os.path.realpath(p) for p in (*allowed, *sys.path[len(allowed) :])]
    foreign = []
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if (
            origin
            and name not in ("__main__", "__mp_main__")
            and not any(os.path.realpath(origin).startswith(root + os.sep) for root in roots)
        ):
            foreign.append(f"{name} ({origin})")
    return sorted(foreign)


def main():
    request_path, result_path = sys.argv[1], sys.argv[2]
    with open(request_path, encoding="utf-8") as fh:
        request = json.load(fh)
    outcome = run(request)
    outcome["foreign_modules"] = foreign_modules(request["path"])
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)


if __name__ == "__main__":
    main()
