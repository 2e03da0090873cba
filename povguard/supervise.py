"""What ``povguard up`` runs its children with: a child that dies is started again after a
backoff (1 s, doubling to 30 s; back to 1 s once it has run for a minute), and the operator is
told, instead of one dead child stopping the whole system."""

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

BACKOFF_S = (1.0, 30.0)
HEALTHY_AFTER_S = 60.0


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay_s: float = BACKOFF_S[0]
    restart_at: float | None = None


@dataclass
class Supervisor:
    commands: dict[str, Sequence[str]]
    say: Callable[[str], None] = print
    children: dict[str, Child] = field(default_factory=dict)

    def start(self) -> None:
        for name, argv in self.commands.items():
            self.children[name] = Child(name, argv)
            self._spawn(self.children[name])

    def _spawn(self, child: Child) -> None:
        # Each child in its own session: a Ctrl-C reaches only ``povguard up``, which then
        # stops them in order with SIGTERM (a SIGINT makes uvicorn print a traceback).
        child.proc = subprocess.Popen(list(child.argv), start_new_session=True)
        child.started_at, child.restart_at = time.monotonic(), None

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: c.proc for name, c in self.children.items() if c.proc is not None}

    def check(self) -> None:
        """Notice children that exited and start them again once their backoff has passed."""
        now = time.monotonic()
        for child in self.children.values():
            assert child.proc is not None
            if child.restart_at is None and child.proc.poll() is not None:
                if now - child.started_at > HEALTHY_AFTER_S:
                    child.delay_s = BACKOFF_S[0]
                child.restart_at = now + child.delay_s
                self.say(
                    f"{child.name} exited with code {child.proc.returncode}; "
                    f"restarting it in {child.delay_s:.0f} s"
                )
                child.delay_s = min(child.delay_s * 2, BACKOFF_S[1])
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._spawn(child)
                self.say(f"{child.name} restarted (restart {child.restarts})")

    def stop(self, timeout_s: float = 10) -> None:
        procs = [c.proc for c in self.children.values() if c.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
