import pytest

from tests.e2e.platform import Platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The whole platform as real processes, fresh for each test module.

    A platform per module keeps what one module's tests leave behind (withdrawn consent, open
    notification digests, requests) out of the next module's tests.
    """
    instance = Platform(tmp_path_factory.mktemp("platform"))
    try:
        instance.start()
    except Exception:
        instance.stop()
        raise
    yield instance
    instance.stop()
