"""End-to-end platforms: real processes, fresh for each test module, started one module ahead.

A platform per module keeps what one module's tests leave behind (withdrawn consent, open
notification digests, requests) out of the next module's tests. Starting one takes several
seconds, nearly all of it in other processes (migrations, demo data, services importing). So the
pool starts the next module's platform in a green thread while the current module's tests run,
and stops a finished platform in a green thread too.
"""

from __future__ import annotations

import os

import eventlet

from tests.e2e.platform import Platform, run_migrations_and_demo


def _start(instance: Platform, template: eventlet.greenthread.GreenThread) -> Platform:
    try:
        template.wait()
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
    """Started platforms, one per test module, in the order the modules run."""

    def __init__(self, tmp_path_factory, modules: list[str]):
        self.tmp_path_factory = tmp_path_factory
        self.modules = modules
        self.count = 0
        # Migrations and demo data run once, into these databases, and every platform gets copies.
        self.template_prefix = f"samen_t{os.getpid()}_e2e0_"
        self.template: eventlet.greenthread.GreenThread | None = None
        self.ahead: tuple[str, eventlet.greenthread.GreenThread] | None = None
        self.stopping: list[eventlet.greenthread.GreenThread] = []

    def _spawn(self) -> eventlet.greenthread.GreenThread:
        self.count += 1
        instance = Platform(
            self.tmp_path_factory.mktemp("platform"),
            database_prefix=f"samen_t{os.getpid()}_e2e{self.count}_",
            template_prefix=self.template_prefix,
        )
        if self.template is None:
            self.template = eventlet.spawn(run_migrations_and_demo, self.template_prefix, instance._environment())
        return eventlet.spawn(_start, instance, self.template)

    def take(self, module: str) -> Platform:
        """Return the started platform of `module`, then start the next module's in the background."""
        if self.ahead is not None and self.ahead[0] == module:
            starting = self.ahead[1]
        else:
            if self.ahead is not None:
                self.stopping.append(eventlet.spawn(_stop_when_started, self.ahead[1]))
            starting = self._spawn()
        self.ahead = None
        instance = starting.wait()
        following = self.modules[self.modules.index(module) + 1:] if module in self.modules else []
        if following:
            self.ahead = (following[0], self._spawn())
        return instance

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
