"""The scope a registered client's token needs for each funds operation (operationId).
An operation that is not here is closed to clients; a test walks the OpenAPI document."""

from shared.auth import Scope
from shared.scopes import CHANGES, WEBHOOKS

SCOPES: dict[str, Scope] = {
    "create_fund": Scope.funds_write,
    "get_fund": Scope.funds_read,
    "list_fund_allocations": Scope.funds_read,
    "create_allocation": Scope.funds_write,
    "list_allocations": Scope.funds_read,
    "get_fund_report": Scope.funds_read,
    "get_household_trace": Scope.funds_read,
    "get_fund_trace": Scope.funds_read,
    "create_project": Scope.projects_write,
    "list_projects": Scope.projects_read,
    "get_project": Scope.projects_read,
    "create_project_action": Scope.projects_write,
    "create_payment": Scope.projects_write,
    "list_payments": Scope.projects_read,
    "confirm_payment": Scope.projects_write,
    "create_notice": Scope.notices_write,
    "list_notices": Scope.notices_read,
    "create_asset": Scope.assets_write,
    "list_assets": Scope.assets_read,
    "get_asset": Scope.assets_read,
    "create_asset_income": Scope.assets_write,
    "list_asset_income": Scope.assets_read,
    "create_distribution": Scope.assets_write,
    "get_distribution": Scope.assets_read,
    "request_asset_disposal": Scope.assets_write,
    "export_assets": Scope.exports_read,
    "create_compliance_scan": Scope.compliance_write,
    "get_compliance_scan": Scope.compliance_read,
    "list_compliance_findings": Scope.compliance_read,
    "get_fund_policy": Scope.policy_read,
    "set_fund_policy": Scope.policy_write,
    **CHANGES,
    **WEBHOOKS,
}
