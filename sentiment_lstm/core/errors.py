"""The one exception type for mistakes a user can make (bad path, bad flag, bad file).

Scripts catch `UserError` at the boundary and print its message as one sentence on
stderr with a non-zero exit; every other exception is a bug and is not swallowed.
"""


class UserError(Exception):
    """A problem the user can fix; its message is one complete sentence."""


class UsageError(UserError):
    """A command line whose flags are fine alone but not together (exit status 2)."""
