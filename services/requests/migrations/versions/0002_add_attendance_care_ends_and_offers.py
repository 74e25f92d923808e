"""Add attendance, care ends, placement event times and freed places

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attendance',
    sa.Column('attendance_id', sa.UUID(), nullable=False),
    sa.Column('child_id', sa.UUID(), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.UUID(), nullable=False),
    sa.Column('collected_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('attendance_id', name=op.f('pk_attendance'))
    )
    op.create_index('ix_attendance_group_day', 'attendance', ['group_id', 'local_date'], unique=False)
    op.create_table('care_ends',
    sa.Column('child_id', sa.UUID(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('child_id', name=op.f('pk_care_ends'))
    )
    op.add_column('placements', sa.Column('event_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('requests', sa.Column('place_freed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('requests', 'place_freed_at')
    op.drop_column('placements', 'event_at')
    op.drop_table('care_ends')
    op.drop_index('ix_attendance_group_day', table_name='attendance')
    op.drop_table('attendance')
