"""Retry policy for tasks that touch the registry: transient database faults only."""

from __future__ import annotations

from typing import Any

from registry.errors import RegistryBusyError, RegistryUnavailableError

#: Delays between attempts, s (exponential backoff).
BACKOFF_S = [2.0, 8.0, 30.0]


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only when the registry was busy or unreachable; bad input fails at once."""
    try:
        state.result()
    except (RegistryBusyError, RegistryUnavailableError):
        return True
    except Exception:
        return False
    return False


REGISTRY_RETRIES: dict[str, Any] = {
    "retries": len(BACKOFF_S),
    "retry_delay_seconds": BACKOFF_S,
    "retry_condition_fn": is_transient,
}
