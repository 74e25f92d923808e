import pytest

from tests.e2e.platform import Platform


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    """The whole platform as real processes, shared by every end-to-end test of the session."""
    instance = Platform(tmp_path_factory.mktemp("platform"))
    try:
        instance.start()
    except Exception:
        instance.stop()
        raise
    yield instance
    instance.stop()
