"""Add staff event versions and attendance

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 21:26:16.361764
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guardian_link_versions',
    sa.Column('child_id', sa.UUID(), nullable=False),
    sa.Column('guardian_id', sa.UUID(), nullable=False),
    sa.Column('linked', sa.Boolean(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_guardian_link_versions_child_id_children')),
    sa.ForeignKeyConstraint(['guardian_id'], ['accounts.id'], name=op.f('fk_guardian_link_versions_guardian_id_accounts')),
    sa.PrimaryKeyConstraint('child_id', 'guardian_id', name=op.f('pk_guardian_link_versions'))
    )
    op.create_table('photo_consents',
    sa.Column('child_id', sa.UUID(), nullable=False),
    sa.Column('guardian_id', sa.UUID(), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_photo_consents_child_id_children')),
    sa.ForeignKeyConstraint(['guardian_id'], ['accounts.id'], name=op.f('fk_photo_consents_guardian_id_accounts')),
    sa.PrimaryKeyConstraint('child_id', 'guardian_id', name=op.f('pk_photo_consents'))
    )
    op.create_table('attendance_events',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('child_id', sa.UUID(), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.UUID(), nullable=False),
    sa.Column('collected_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_attendance_events_child_id_children')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_attendance_events_group_id_groups')),
    sa.ForeignKeyConstraint(['recorded_by'], ['accounts.id'], name=op.f('fk_attendance_events_recorded_by_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_attendance_events_event_id'))
    )
    op.create_index(op.f('ix_attendance_events_child_id'), 'attendance_events', ['child_id'], unique=False)
    op.create_index(op.f('ix_attendance_events_group_id'), 'attendance_events', ['group_id'], unique=False)
    op.create_index(op.f('ix_attendance_events_local_date'), 'attendance_events', ['local_date'], unique=False)
    op.create_index(op.f('ix_attendance_events_occurred_at'), 'attendance_events', ['occurred_at'], unique=False)
    op.add_column('children', sa.Column('record_event_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('placements', sa.Column('record_event_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('placements', 'record_event_at')
    op.drop_column('children', 'record_event_at')
    op.drop_index(op.f('ix_attendance_events_occurred_at'), table_name='attendance_events')
    op.drop_index(op.f('ix_attendance_events_local_date'), table_name='attendance_events')
    op.drop_index(op.f('ix_attendance_events_group_id'), table_name='attendance_events')
    op.drop_index(op.f('ix_attendance_events_child_id'), table_name='attendance_events')
    op.drop_table('attendance_events')
    op.drop_table('photo_consents')
    op.drop_table('guardian_link_versions')
