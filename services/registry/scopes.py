"""The scope a registered client's token needs for each registry operation (operationId).
An operation that is not here is closed to clients; a test walks the OpenAPI document."""

from shared.auth import Scope
from shared.scopes import CHANGES, WEBHOOKS

_HOUSEHOLDS_READ = (
    "list_households",
    "get_household",
    "search_households",
    "list_household_categories",
    "get_household_economics",
    "list_household_economics",
    "get_household_guarantees",
    "list_measures",
    "get_cadre",
    "get_household_history",
)
_HOUSEHOLDS_WRITE = (
    "create_household",
    "update_household",
    "set_household_category",
    "create_member",
    "update_member",
    "depart_member",
    "set_household_economics",
    "set_household_guarantees",
    "create_measure",
    "create_cadre",
    "pair_households",
    # A phone's queued changes (offline batches): household, member, economics and guarantees.
    "create_batch",
)
_ACCOUNTS = (
    "create_user",
    "list_users",
    "get_user",
    "update_user",
    "approve_user",
    "create_client",
    "list_clients",
    "get_client",
    "update_client",
    "rotate_client_secret",
)

SCOPES: dict[str, Scope] = {
    **dict.fromkeys(_HOUSEHOLDS_READ, Scope.households_read),
    **dict.fromkeys(_HOUSEHOLDS_WRITE, Scope.households_write),
    **dict.fromkeys(_ACCOUNTS, Scope.accounts_manage),
    "get_me": Scope.profile_read,
    "change_password": Scope.profile_write,
    "get_household_stats": Scope.stats_read,
    "get_region": Scope.regions_read,
    "get_declaration_qr": Scope.regions_read,
    "list_regions": Scope.regions_read,
    "upsert_regions": Scope.regions_write,
    "search_audit": Scope.audit_read,
    "sync_households": Scope.sync_write,
    "create_import": Scope.imports_write,
    "list_imports": Scope.imports_read,
    "get_import": Scope.imports_read,
    "get_import_template": Scope.imports_read,
    "list_import_rejections": Scope.imports_read,
    "get_import_rejections_xlsx": Scope.imports_read,
    "export_households": Scope.exports_read,
    "create_duplicate_scan": Scope.duplicates_write,
    "get_duplicate_scan": Scope.duplicates_read,
    "list_duplicates": Scope.duplicates_read,
    "confirm_or_dismiss_duplicate": Scope.duplicates_write,
    **CHANGES,
    **WEBHOOKS,
    # The DCI API (services/registry/dci): its paths check the same scope again, to answer
    # the standard's ERR rather than a problem.
    "dci_sync_search": Scope.dci_search,
    "dci_search": Scope.dci_search,
    "dci_sync_txn_status": Scope.dci_search,
    "dci_txn_status": Scope.dci_search,
    "dci_subscribe": Scope.dci_subscribe,
    "dci_unsubscribe": Scope.dci_subscribe,
    # The change log's hash chain (shared.changelog.chain).
    "verify_audit_chain": Scope.audit_read,
}
