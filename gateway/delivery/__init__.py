"""The delivery engine: routing and submit (records to queued deliveries), the worker that sends
them through connectors, consolidation, incoming acks, the sweeps that act on overdue proof, and
the tracking views (status table, timeline)."""
