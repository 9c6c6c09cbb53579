"""An order's statuses as the API names them (docs/api.md): one list for the kiosk's wire models
(``kiosk.api.models``) and the reference server (``kiosk.server.seed``). Pure, imports nothing."""

STATUSES = (
    "shipped",
    "arrived",
    "overdue",
    "received",
    "return_requested",
    "return_reviewed",
    "returned_to_warehouse",
    "restocked",
)
