"""``povguard up`` keeps its children running: one that dies is started again, with backoff,
and the operator is told; the others go on."""

import sys
import time

from povguard import supervise
from povguard.supervise import Supervisor


def test_a_dead_child_is_restarted_with_backoff_and_the_operator_is_told(monkeypatch) -> None:
    monkeypatch.setattr(supervise, "BACKOFF_S", (0.2, 1.0))
    said: list[str] = []
    supervisor = Supervisor(
        {
            "crasher": [sys.executable, "-c", "import sys; sys.exit(3)"],
            "steady": [sys.executable, "-c", "import time; time.sleep(60)"],
        },
        say=said.append,
    )
    supervisor.start()
    steady = supervisor.children["steady"].proc
    try:
        deadline = time.monotonic() + 20
        while supervisor.children["crasher"].restarts < 2 and time.monotonic() < deadline:
            supervisor.check()
            time.sleep(0.05)
        assert supervisor.children["crasher"].restarts >= 2
        assert any("crasher exited with code 3; restarting it in" in s for s in said)
        assert any("crasher restarted" in s for s in said)
        # The backoff grows between restarts; the healthy child was never touched.
        assert supervisor.children["crasher"].delay_s > 0.2
        assert supervisor.children["steady"].proc is steady
        assert steady is not None
        assert steady.poll() is None
    finally:
        supervisor.stop(timeout_s=5)
    assert steady.poll() is not None
