import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from samen_accounts.service import AccountsService
from samen_devtools import demo


@pytest.fixture
def demo_loaded(clean_db):
    demo.load(clean_db["accounts"])
    return clean_db


@pytest.fixture
def accounts(container_factory, service_config, demo_loaded):
    container = container_factory(AccountsService, service_config)
    container.start()
    return container


@pytest.fixture
def call(service_config, context_data, accounts):
    """Call an accounts RPC as a client with the given token and address."""

    def invoke(method, *args, token=None, address="127.0.0.1", **kwargs):
        with ClusterRpcProxy(service_config, context_data=context_data(token, client_address=address), timeout=10) as proxy:
            return getattr(proxy.accounts, method)(*args, **kwargs)

    return invoke
