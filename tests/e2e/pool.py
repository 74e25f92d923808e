"""End-to-end platforms: real processes, fresh for each test module, started one module ahead.

A platform per module keeps what one module's tests leave behind (withdrawn consent, open
notification digests, requests) out of the next module's tests. Starting one takes several
seconds, nearly all of it spent in other processes (migrations, demo data, services importing),
so the pool starts the next module's platform in a green thread while the current module's
tests run, and stops a finished platform the same way.
"""

from __future__ import annotations

import os

import eventlet

from tests.e2e.platform import Platform


def _start(instance: Platform) -> Platform:
    try:
        instance.start()
    except BaseException:
        instance.stop()
        raise
    return instance


def _stop_when_started(starting: eventlet.greenthread.GreenThread) -> None:
    try:
        instance = starting.wait()
    except Exception:  # noqa: BLE001 - _start has stopped a platform that failed to start
        return
    instance.stop()


class PlatformPool:
    """Hands out one started platform per test module, in the order the modules run."""

    def __init__(self, tmp_path_factory, modules: list[str]):
        self.tmp_path_factory = tmp_path_factory
        self.modules = modules
        self.count = 0
        self.ahead: tuple[str, eventlet.greenthread.GreenThread] | None = None
        self.stopping: list[eventlet.greenthread.GreenThread] = []

    def _spawn(self, module: str) -> eventlet.greenthread.GreenThread:
        self.count += 1
        instance = Platform(
            self.tmp_path_factory.mktemp("platform"),
            database_prefix=f"samen_t{os.getpid()}_e2e{self.count}_",
        )
        return eventlet.spawn(_start, instance)

    def take(self, module: str) -> Platform:
        """Return the started platform of `module` and start the next module's in the background."""
        if self.ahead is not None and self.ahead[0] == module:
            starting = self.ahead[1]
        else:
            if self.ahead is not None:
                self.stopping.append(eventlet.spawn(_stop_when_started, self.ahead[1]))
            starting = self._spawn(module)
        self.ahead = None
        following = self.modules[self.modules.index(module) + 1:] if module in self.modules else []
        if following:
            self.ahead = (following[0], self._spawn(following[0]))
        return starting.wait()

    def release(self, instance: Platform) -> None:
        self.stopping.append(eventlet.spawn(instance.stop))

    def close(self) -> None:
        """Stop every platform, including one started for a module that did not run."""
        if self.ahead is not None:
            self.stopping.append(eventlet.spawn(_stop_when_started, self.ahead[1]))
            self.ahead = None
        for thread in self.stopping:
            thread.wait()


def modules_using(session, fixture_module: str) -> list[str]:
    """Return the node ids of the modules whose tests use the `platform` fixture of `fixture_module`, in run order."""
    modules: list[str] = []
    for item in session.items:
        definitions = getattr(item, "_fixtureinfo", None)
        definitions = definitions.name2fixturedefs.get("platform") if definitions else None
        if not definitions or definitions[-1].func.__module__ != fixture_module:
            continue
        module = item.nodeid.split("::", 1)[0]
        if module not in modules:
            modules.append(module)
    return modules
