"""Errors whose message is written for the user, and the categories sync errors fall into."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What to do about a failure: the Go dr-syncer's three categories, kept for status compatibility."""

    RETRYABLE = "Retryable"  # try again soon (throttling, conflicts, server errors, timeouts)
    NON_RETRYABLE = "NonRetryable"  # will fail the same way until someone changes something
    WAIT_FOR_NEXT_SYNC = "WaitForNextSync"  # a precondition is missing; the next scheduled run retries


class DrsyncerError(Exception):
    """An error a user can act on; its message names the object and field concerned."""


class CategorisedError(DrsyncerError):
    """A failure with a category; `str()` reads like `WaitForNextSync: storage class "fast" ...`."""

    def __init__(self, category: Category, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message

    def __str__(self) -> str:
        return f"{self.category.value}: {self.message}"
