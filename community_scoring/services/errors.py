class ActionRejected(Exception):
    """An action that cannot be recorded; `errors` maps each offending field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))
        self.errors = errors
