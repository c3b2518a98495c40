"""The integration tier: real servers on loopback (``@pytest.mark.integration``)."""

from tests.integration.seaweed import seaweedfs

__all__ = ["seaweedfs"]
