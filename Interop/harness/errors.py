"""The one error type the harness raises for anything a person has to look at."""


class HarnessError(RuntimeError):
    """Bringing up or talking to Prosody/Parley failed; the message says why and
    usually carries the tail of the relevant log."""
