"""The backend side of the kiosk: typed client, durable outbox, api worker (docs/api.md)."""

from kiosk.api.client import BackendClient
from kiosk.api.models import Health, Lookup, Member, Order, Settings, Staff, StaffSession
from kiosk.api.outbox import Outbox, OutboxError, OutboxEvent
from kiosk.api.worker import ApiWorker

__all__ = [
    "ApiWorker",
    "BackendClient",
    "Health",
    "Lookup",
    "Member",
    "Order",
    "Outbox",
    "OutboxError",
    "OutboxEvent",
    "Settings",
    "Staff",
    "StaffSession",
]
