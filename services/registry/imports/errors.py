"""The whole-file refusal of an import."""


class UnreadableFile(ValueError):
    """The whole file is refused; the message (a catalogue message with a code) says why."""
