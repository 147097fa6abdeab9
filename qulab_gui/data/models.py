"""The lab's schema as SQLAlchemy 2.0 typed declarative models.

Relationships keep SQLAlchemy's default lazy loading ("select") on purpose: lab 3 shows the N+1
problem this causes and cures it per query with `selectinload` / `joinedload`, never globally.
The schema itself is created by the Alembic migrations in `migrations/`; a test proves both agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    func,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

COMPONENTS = ("fluency", "domain", "adaptive")
ASSESSMENT_STATUSES = ("in_progress", "completed")


class EventStatus(StrEnum):
    """Where a domain event is in the outbox; stored as its lower-case value."""

    PENDING = "pending"  # waiting to be published (due now, backing off or leased)
    PUBLISHED = "published"  # the broker accepted it
    FAILED = "failed"  # dead-lettered after max_attempts: waits for a manual retry


EVENT_STATUSES = tuple(status.value for status in EventStatus)  # plain strings, for the CHECK constraint

# Named constraints make migrations reproducible on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores `timestamptz`; SQLite has no time zones and hands back naive values (also
    for `CURRENT_TIMESTAMP` server defaults, which are UTC), so UTC is attached on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    # The server default covers rows inserted by other programs; the ORM sets the time itself
    # because SQLite's CURRENT_TIMESTAMP has whole seconds, too coarse to order scores by.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now(), default=utcnow,
                                                 onupdate=utcnow)


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("years_experience >= 0", name="years_experience_not_negative"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    occupation_code: Mapped[str] = mapped_column(String(16))
    education_level: Mapped[str] = mapped_column(String(32))
    years_experience: Mapped[int] = mapped_column(Integer, default=0)

    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    scores: Mapped[list[AIRScore]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r})"


class Assessment(TimestampMixin, Base):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(f"component IN {COMPONENTS!r}", name="component_known"),
        CheckConstraint(f"status IN {ASSESSMENT_STATUSES!r}", name="status_known"),
        CheckConstraint("items_administered >= 0", name="items_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    component: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="completed")
    # Ability estimate on the logit (theta) scale of item response theory; 0 is the population mean.
    current_ability: Mapped[float] = mapped_column(Float, default=0.0)
    items_administered: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship(back_populates="assessments")


class AIRScore(TimestampMixin, Base):
    __tablename__ = "air_scores"
    __table_args__ = (Index(None, "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    air_score: Mapped[float] = mapped_column(Float)
    vr_score: Mapped[float] = mapped_column(Float)
    hr_score: Mapped[float] = mapped_column(Float)
    synergy_score: Mapped[float] = mapped_column(Float)
    ci_lower: Mapped[float] = mapped_column(Float)
    ci_upper: Mapped[float] = mapped_column(Float)
    parameter_version: Mapped[str] = mapped_column(String(32))
    calculation_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User] = relationship(back_populates="scores")


class DomainEvent(Base):
    """An outbox row: written in the same transaction as the change it describes.

    `id` is the event id the stream carries as `event_id` (the consumer's idempotency key).
    Only id, event_type, aggregate_type, aggregate_id and payload are required: a row inserted by
    another process with just those is picked up by the publisher like any other.
    """

    __tablename__ = "domain_events"
    __table_args__ = (
        CheckConstraint(f"status IN {EVENT_STATUSES!r}", name="status_known"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "aggregate_type", "aggregate_id", "occurred_at"),
        Index(None, "status", "occurred_at", "id"),  # the publisher's claim walks this in order
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_type: Mapped[str] = mapped_column(String(64))
    aggregate_type: Mapped[str] = mapped_column(String(64))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING.value,
                                        server_default=EventStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # NULL means due now
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The publisher's lease (migration 0002): set when a batch is claimed, cleared when it is marked.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
