"""Create documents and parent committee tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'documents',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('organisation_id', sa.UUID(), nullable=False),
        sa.Column('guardian_id', sa.UUID(), nullable=True),
        sa.Column('location_id', sa.UUID(), nullable=True),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('storage_key', sa.String(length=300), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploaded_by', sa.UUID(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('(guardian_id IS NULL) <> (location_id IS NULL)', name=op.f('ck_documents_one_owner')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_documents_storage_key')),
    )
    op.create_index('ix_documents_guardian_created', 'documents', ['guardian_id', 'created_at'], unique=False)
    op.create_index('ix_documents_location_created', 'documents', ['location_id', 'created_at'], unique=False)
    op.create_table(
        'parent_committees',
        sa.Column('location_id', sa.UUID(), nullable=False),
        sa.Column('organisation_id', sa.UUID(), nullable=False),
        sa.Column('members', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
        sa.Column('contact_email', sa.String(length=254), nullable=True),
        sa.Column('updated_by', sa.UUID(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('location_id', name=op.f('pk_parent_committees')),
    )


def downgrade() -> None:
    op.drop_table('parent_committees')
    op.drop_index('ix_documents_location_created', table_name='documents')
    op.drop_index('ix_documents_guardian_created', table_name='documents')
    op.drop_table('documents')
