"""Prefect's temporary API server dies with the process that started it.

Without a configured ``PREFECT_API_URL`` Prefect 3 starts a temporary server as a child
process (``prefect.server.api.server.SubprocessASGIServer``: ``python -m uvicorn ...``) and
stops it at interpreter exit (``atexit``). A parent killed with SIGKILL runs no atexit
handler, so the server used to run on, orphaned, holding its port and its SQLite file.

:func:`children_die_with_parent` makes that child watch its parent: the command becomes
``python -c <watchdog> ...`` with the same uvicorn arguments; a daemon thread in the child
checks every 0.25 s whether its parent process is still the one that started it and, once it
is not, stops the server with SIGTERM (then exits hard after 5 s). A watchdog rather than
``prctl(PR_SET_PDEATHSIG)``: Linux sends the death signal when the *thread* that forked the
child ends, and Prefect may start the server from a short-lived worker thread.
"""

from __future__ import annotations

import logging
import os
import subprocess
import types
from typing import Any

log = logging.getLogger(__name__)

#: Environment variable telling the server child which process must stay alive.
PARENT_ENV = "NASICON_PARENT_PID"
#: Seconds between two checks of the parent in the server child.
POLL_S = 0.25

#: The server child's program: start the watchdog, then run uvicorn as ``python -m`` does.
CHILD_CODE = f"""\
import os, runpy, signal, sys, threading, time
parent = int(os.environ.pop({PARENT_ENV!r}))
if os.getppid() != parent:
    sys.exit(1)
def watch():
    while os.getppid() == parent:
        time.sleep({POLL_S})
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    os._exit(1)
threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
sys.argv[0] = "uvicorn"
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


def _watched_command(args: Any) -> Any:
    """``[python, -m, uvicorn, ...]`` -> ``[python, -c, CHILD_CODE, ...]``; else unchanged."""
    if isinstance(args, list | tuple) and list(args[1:3]) == ["-m", "uvicorn"]:
        return [args[0], "-c", CHILD_CODE, *args[3:]]
    return args


def _popen(args: Any, *rest: Any, **kwargs: Any) -> subprocess.Popen[Any]:
    watched = _watched_command(args)
    if watched is not args:
        env = dict(kwargs.get("env") or os.environ)
        env[PARENT_ENV] = str(os.getpid())
        kwargs["env"] = env
    return subprocess.Popen(watched, *rest, **kwargs)


def children_die_with_parent() -> None:
    """Make Prefect's temporary server (started later, if at all) watch this process.

    Idempotent; does nothing off POSIX or when a Prefect API URL is configured (then no
    temporary server is started).
    """
    if os.name != "posix":
        return
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return
    from prefect.server.api import server as server_module

    if getattr(server_module.subprocess, "nasicon_watchdog", False):
        return
    proxy = types.SimpleNamespace(
        **{name: getattr(subprocess, name) for name in dir(subprocess) if not name.startswith("__")}
    )
    proxy.Popen = _popen
    proxy.nasicon_watchdog = True
    server_module.subprocess = proxy  # type: ignore[assignment]
    log.debug("Prefect's temporary server will stop when process %d ends", os.getpid())
