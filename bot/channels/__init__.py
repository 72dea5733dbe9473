"""Channel adapters: platform payload <-> channel-neutral Inbound / Outbound."""
