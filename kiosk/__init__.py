"""pickup-kiosk: self-service parcel pickup at a store's counter or locker bank."""

__version__ = "0.1.0"
