"""Outbox lease: which publisher claimed an event and until when, plus the publisher's scan index.

A publisher claims a batch by writing `claimed_by` and `lease_expires_at`; if it dies before
marking the batch published, the lease runs out and another publisher takes the batch over.
The (status, occurred_at, id) index lets the claim walk pending events in publishing order and
stop at the batch size instead of sorting every pending row on each tick.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_domain_events_status_occurred_at_id'), ['status', 'occurred_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domain_events_status_occurred_at_id'))
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('claimed_by')
