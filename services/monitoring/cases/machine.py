"""The case state machine, exactly domain.md section 3: stage -> action -> (who, next stage).
An action whose outcome depends on its input (a review's result, an upheld objection) names
the possible next stages; the service picks one."""

from dataclasses import dataclass

from shared.auth import Role


@dataclass(frozen=True)
class Step:
    role: Role
    to: tuple[str, ...]  # possible next stages; the first is the usual one


V, T, C = Role.village_cadre, Role.township_officer, Role.county_officer

MACHINE: dict[str, dict[str, Step]] = {
    "discovered": {"verify": Step(V, ("verified",)), "reject": Step(V, ("rejected",))},
    "verified": {"village_review": Step(V, ("village_reviewed", "rejected"))},
    "village_reviewed": {"publish_notice": Step(V, ("in_notice",))},
    "in_notice": {"close_notice": Step(V, ("notice_closed", "verified"))},
    "notice_closed": {"township_review": Step(T, ("township_reviewed", "rejected"))},
    "township_reviewed": {
        "county_decide": Step(C, ("monitored",)),
        "reject": Step(C, ("rejected",)),
    },
    "monitored": {
        "add_measure": Step(V, ("monitored",)),
        "follow_up": Step(V, ("monitored",)),
        "propose_elimination": Step(V, ("elimination_proposed",)),
    },
    "elimination_proposed": {
        # An objection upheld during the elimination notice keeps the case monitored.
        "eliminate": Step(C, ("eliminated", "monitored")),
        "keep_monitoring": Step(C, ("monitored",)),
    },
    "eliminated": {"rollback": Step(C, ("monitored",))},
    "rejected": {},
}

STAGES = tuple(MACHINE)
CLOSED = ("eliminated", "rejected")
IDENTIFICATION = (
    "discovered",
    "verified",
    "village_reviewed",
    "in_notice",
    "notice_closed",
    "township_reviewed",
)


def roles_for(action: str) -> set[Role]:
    return {steps[action].role for steps in MACHINE.values() if action in steps}


def allowed(stage: str) -> list[str]:
    return sorted(MACHINE[stage])
