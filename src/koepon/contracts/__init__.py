"""Events and commands that services publish for each other: versioned Pydantic models.

A contract's ``topic`` ends in its major version; a breaking change is a new topic.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """Base of every published event. The topic is the RabbitMQ routing key."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    topic: ClassVar[str]
