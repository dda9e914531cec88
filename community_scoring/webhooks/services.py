"""Outbound webhooks. Contract for the engine: call webhook_event_enqueue when something subscribers care about happens."""


def webhook_event_enqueue(*, event: str, payload: dict) -> None:
    """Queue a delivery of `event` (stage_changed, became_advocate) to every active subscriber, on commit.

    Placeholder until the webhooks module lands: there are no subscribers yet, so nothing is delivered.
    """
    return None
