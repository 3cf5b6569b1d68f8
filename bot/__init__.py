"""relbot: skills practice for boundaries and interdependence, on Telegram."""
