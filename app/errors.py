"""Errors that cross the boundary between the product and its front ends (CLI, kiosk UI).

BadInputError is input the caller can fix (a file that is not an image, a malformed workflow,
a camera that cannot be opened): the CLI maps it to exit 2 with its one-line message, the
kiosk to an error screen. Anything else raised on the path to a verdict is a programming or
system fault: the CLI exits 1 and the session ends as an internal failure, never as a quiet
Declined.
"""

from __future__ import annotations


class BadInputError(Exception):
    """The user gave input the command cannot use; str() is one line."""
