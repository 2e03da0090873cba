"""The case state machine, exactly domain.md section 3: stage -> action -> (who, next stage).
An action whose outcome depends on its input (a review's result, an upheld objection) names
the possible next stages; the action's handler (``cases/actions.py``) picks one."""

from dataclasses import dataclass
from enum import StrEnum

from services.monitoring.cases.schemas import Action
from shared.auth import Role


class Stage(StrEnum):
    """Where a case stands in the procedure (识别与帮扶程序)."""

    discovered = "discovered"
    verified = "verified"
    village_reviewed = "village_reviewed"
    in_notice = "in_notice"
    notice_closed = "notice_closed"
    township_reviewed = "township_reviewed"
    monitored = "monitored"
    elimination_proposed = "elimination_proposed"
    eliminated = "eliminated"
    rejected = "rejected"


@dataclass(frozen=True)
class Step:
    role: Role
    to: tuple[Stage, ...]  # possible next stages; the first is the usual one


V, T, C = Role.village_cadre, Role.township_officer, Role.county_officer
S, A = Stage, Action

MACHINE: dict[Stage, dict[Action, Step]] = {
    S.discovered: {A.verify: Step(V, (S.verified,)), A.reject: Step(V, (S.rejected,))},
    S.verified: {A.village_review: Step(V, (S.village_reviewed, S.rejected))},
    S.village_reviewed: {A.publish_notice: Step(V, (S.in_notice,))},
    S.in_notice: {A.close_notice: Step(V, (S.notice_closed, S.verified))},
    S.notice_closed: {A.township_review: Step(T, (S.township_reviewed, S.rejected))},
    S.township_reviewed: {
        A.county_decide: Step(C, (S.monitored,)),
        A.reject: Step(C, (S.rejected,)),
    },
    S.monitored: {
        A.add_measure: Step(V, (S.monitored,)),
        A.follow_up: Step(V, (S.monitored,)),
        A.propose_elimination: Step(V, (S.elimination_proposed,)),
    },
    S.elimination_proposed: {
        # An objection upheld during the elimination notice keeps the case monitored.
        A.eliminate: Step(C, (S.eliminated, S.monitored)),
        A.keep_monitoring: Step(C, (S.monitored,)),
    },
    S.eliminated: {A.rollback: Step(C, (S.monitored,))},
    S.rejected: {},
}

STAGES = tuple(s.value for s in Stage)
CLOSED = (Stage.eliminated.value, Stage.rejected.value)
IDENTIFICATION = (
    Stage.discovered,
    Stage.verified,
    Stage.village_reviewed,
    Stage.in_notice,
    Stage.notice_closed,
    Stage.township_reviewed,
)


def roles_for(action: str) -> set[Role]:
    return {steps[Action(action)].role for steps in MACHINE.values() if action in steps}


def allowed(stage: str) -> list[str]:
    return sorted(a.value for a in MACHINE[Stage(stage)])
