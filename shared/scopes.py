"""Client scopes as the OpenAPI documents declare them: what each scope opens (shown in
"Authorize" and to generated clients), and the operations every service shares. Each service
maps every one of its operations to the scope a client token needs (``services/*/scopes.py``);
a person's token has no scopes and is not affected."""

from collections.abc import Mapping

from shared.auth import Scope

OperationScopes = Mapping[str, Scope]

DESCRIPTIONS: dict[Scope, str] = {
    Scope.changes_read: "Read the change feed (GET /v1/changes)",
    Scope.dci_search: "DCI Social Registry: search and transaction status (/dci/registry/...)",
    Scope.dci_subscribe: "DCI Social Registry: subscribe and unsubscribe (/dci/registry/...)",
    Scope.signals_write: "Push department signals",
    Scope.sync_write: "Batch upsert households (POST /v1/sync/households)",
    Scope.webhooks_manage: "Register, list and delete webhooks; read and retry deliveries",
    Scope.profile_read: "Read who the token belongs to (GET /v1/me)",
    Scope.profile_write: "Change the account's own password",
    Scope.accounts_manage: "Manage user accounts and registered clients",
    Scope.regions_read: "Read the region tree",
    Scope.regions_write: "Load regions",
    Scope.households_read: "Read and search households, members and what hangs on them",
    Scope.households_write: "Create and change households, members, economics, measures",
    Scope.imports_read: "Read imports and the import template",
    Scope.imports_write: "Upload ledgers",
    Scope.exports_read: "Download exports",
    Scope.audit_read: "Search the audit log",
    Scope.policy_read: "Read policy",
    Scope.policy_write: "Set, approve and refuse policy",
    Scope.scans_read: "Read scans",
    Scope.scans_write: "Start scans",
    Scope.alerts_read: "Read alerts",
    Scope.scores_read: "Read risk scores: the ranked visit list and each household's explanation",
    Scope.signals_read: "Read department signals",
    Scope.declarations_read: "Read self-declarations",
    Scope.declarations_write: "Act on self-declarations",
    Scope.cases_read: "Read monitoring cases",
    Scope.cases_write: "Open and advance monitoring cases",
    Scope.stats_read: "Read statistics",
    Scope.funds_read: "Read funds, allocations, reports and traces",
    Scope.funds_write: "Create funds and allocations",
    Scope.projects_read: "Read projects and payments",
    Scope.projects_write: "Create and advance projects, make and confirm payments",
    Scope.notices_read: "Read public notices",
    Scope.notices_write: "Publish public notices",
    Scope.assets_read: "Read assets, their income and distributions",
    Scope.assets_write: "Register assets, record income, distributions and disposals",
    Scope.compliance_read: "Read compliance scans and findings",
    Scope.compliance_write: "Start compliance scans",
    Scope.duplicates_read: "Read duplicate scans and proposed duplicate pairs (查重)",
    Scope.duplicates_write: "Start duplicate scans, confirm or dismiss duplicates",
}

# The webhook routes every service serves (shared.webhooks).
WEBHOOKS: dict[str, Scope] = {
    name: Scope.webhooks_manage
    for name in (
        "create_webhook",
        "list_webhooks",
        "get_webhook",
        "delete_webhook",
        "list_deliveries",
        "retry_delivery",
    )
}

# The change feed (registry today; monitoring and funds serve the same operations).
CHANGES: dict[str, Scope] = {
    "list_changes": Scope.changes_read,
    "get_feed_position": Scope.changes_read,
}
