"""Services run in SamenContainer, whose worker keeps nameko's steps and error handling."""

from pathlib import Path

import pytest
import yaml
from nameko.cli.main import setup_yaml_parser
from nameko.containers import get_container_cls
from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy

from samen_common.container import SamenContainer
from samen_common.errors import NotFound
from samen_common.rpc import rpc

ROOT = Path(__file__).resolve().parents[2]
steps: list[str] = []


class Recorder(DependencyProvider):
    def get_dependency(self, worker_ctx):
        steps.append("inject")
        return steps

    def worker_setup(self, worker_ctx):
        steps.append("setup")

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        steps.append(f"result:{result}:{exc_info[0].__name__ if exc_info else None}")

    def worker_teardown(self, worker_ctx):
        steps.append("teardown")


class StepsService:
    name = "container_steps"
    recorder = Recorder()

    @rpc
    def ok(self, value):
        self.recorder.append("method")
        return value

    @rpc
    def missing(self):
        raise NotFound()

    @rpc
    def broken(self):
        raise ValueError("bug")


def test_deploy_config_names_samen_container():
    setup_yaml_parser()
    config = yaml.safe_load((ROOT / "deploy" / "nameko.yaml").read_text())
    assert get_container_cls(config) is SamenContainer


def test_worker_steps_in_order(container_factory, service_config):
    container = container_factory(StepsService, service_config)
    assert isinstance(container, SamenContainer)
    container.start()
    steps.clear()

    with ClusterRpcProxy(service_config, timeout=5) as proxy:
        assert proxy.container_steps.ok(7) == 7
    assert steps == ["inject", "setup", "method", "result:7:None", "teardown"]


def test_worker_errors_reach_caller(container_factory, service_config):
    container = container_factory(StepsService, service_config)
    container.start()
    steps.clear()

    with ClusterRpcProxy(service_config, timeout=5) as proxy:
        with pytest.raises(NotFound):
            proxy.container_steps.missing()
        with pytest.raises(RemoteError) as failure:
            proxy.container_steps.broken()
    assert failure.value.exc_type == "ValueError"
    assert "result:None:NotFound" in steps
    assert "result:None:ValueError" in steps
    assert steps.count("teardown") == 2
