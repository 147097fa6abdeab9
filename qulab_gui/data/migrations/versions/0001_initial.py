"""Initial schema: users, assessments, AIR scores and the outbox table.

Never edit a migration that has shipped: add a new one, so a student's database upgrades in place.

Revision ID: 0001
Revises: 
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('domain_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('aggregate_type', sa.String(length=64), nullable=False),
    sa.Column('aggregate_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'published', 'failed')", name=op.f('ck_domain_events_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_events'))
    )
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_events_aggregate_type_aggregate_id_occurred_at'), ['aggregate_type', 'aggregate_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_domain_events_status_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('occupation_code', sa.String(length=16), nullable=False),
    sa.Column('education_level', sa.String(length=32), nullable=False),
    sa.Column('years_experience', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('years_experience >= 0', name=op.f('ck_users_years_experience_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('air_scores',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('air_score', sa.Float(), nullable=False),
    sa.Column('vr_score', sa.Float(), nullable=False),
    sa.Column('hr_score', sa.Float(), nullable=False),
    sa.Column('synergy_score', sa.Float(), nullable=False),
    sa.Column('ci_lower', sa.Float(), nullable=False),
    sa.Column('ci_upper', sa.Float(), nullable=False),
    sa.Column('parameter_version', sa.String(length=32), nullable=False),
    sa.Column('calculation_metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_air_scores_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_air_scores'))
    )
    with op.batch_alter_table('air_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_air_scores_user_id_created_at'), ['user_id', 'created_at'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_ability', sa.Float(), nullable=False),
    sa.Column('items_administered', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("component IN ('fluency', 'domain', 'adaptive')", name=op.f('ck_assessments_component_known')),
    sa.CheckConstraint("status IN ('in_progress', 'completed')", name=op.f('ck_assessments_status_known')),
    sa.CheckConstraint('items_administered >= 0', name=op.f('ck_assessments_items_not_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assessments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_user_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('air_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_air_scores_user_id_created_at'))

    op.drop_table('air_scores')
    op.drop_table('users')
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domain_events_status_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_domain_events_aggregate_type_aggregate_id_occurred_at'))

    op.drop_table('domain_events')
