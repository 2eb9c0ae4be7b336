"""Who may call /codec: ops and admin, plus the local Temporal UI in dev mode only."""

from api import auth
from api.app import codec_access
from settings import Settings


def test_outside_dev_mode_the_codec_needs_an_ops_or_admin_token():
    assert codec_access(Settings(STEPDOWN_DEV=False)) is auth.allow


def test_in_dev_mode_the_local_ui_may_decode_without_a_token():
    admit = codec_access(Settings(STEPDOWN_DEV=True))("ops", "admin")
    assert admit() is None
