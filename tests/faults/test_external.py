"""Faults of object storage, FCM, SMTP and a notify backlog."""

import pytest

pytestmark = pytest.mark.faults

# NOTE: media (photo upload) and notify (device registration, inbox) endpoints exist, but these
# tests are not written yet.
NOT_WRITTEN = "not written yet: needs S3 stop/start, FCM 503 mode and SMTP stop in tests.e2e.platform"


@pytest.mark.skip(reason=NOT_WRITTEN)
def test_object_storage_down():
    pass


@pytest.mark.skip(reason=NOT_WRITTEN)
def test_fcm_503_is_retried_once():
    pass


@pytest.mark.skip(reason=NOT_WRITTEN)
def test_smtp_down_mail_sent_later():
    pass


@pytest.mark.skip(reason=NOT_WRITTEN)
def test_notify_backlog_drains_once():
    pass
