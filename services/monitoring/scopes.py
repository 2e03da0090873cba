"""The scope a registered client's token needs for each monitoring operation (operationId).
An operation that is not here is closed to clients; a test walks the OpenAPI document.
The villagers' own declaration routes are public (no token) and need none."""

from shared.auth import Scope
from shared.scopes import CHANGES, WEBHOOKS

SCOPES: dict[str, Scope] = {
    "get_policy": Scope.policy_read,
    "list_policies": Scope.policy_read,
    "set_policy": Scope.policy_write,
    "approve_policy": Scope.policy_write,
    "refuse_policy": Scope.policy_write,
    # A scorecard is policy: read and set like the monitoring policy.
    "get_scorecard": Scope.policy_read,
    "set_scorecard": Scope.policy_write,
    "approve_scorecard": Scope.policy_write,
    "refuse_scorecard": Scope.policy_write,
    "list_scores": Scope.scores_read,
    "get_household_score": Scope.scores_read,
    "create_scan": Scope.scans_write,
    "get_scan": Scope.scans_read,
    "list_alerts": Scope.alerts_read,
    "create_signals": Scope.signals_write,
    "list_signals": Scope.signals_read,
    "get_signal": Scope.signals_read,
    "list_alert_signals": Scope.alerts_read,
    "list_declarations": Scope.declarations_read,
    "create_declaration_action": Scope.declarations_write,
    "create_case": Scope.cases_write,
    "list_cases": Scope.cases_read,
    "get_case": Scope.cases_read,
    "create_case_action": Scope.cases_write,
    # A phone's queued case steps (offline batches) are case steps.
    "create_batch": Scope.cases_write,
    "get_stats_overview": Scope.stats_read,
    **CHANGES,
    **WEBHOOKS,
    # The change log's hash chain (shared.changelog.chain).
    "verify_audit_chain": Scope.audit_read,
}
