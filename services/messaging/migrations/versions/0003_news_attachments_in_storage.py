"""Keep new news attachments in object storage

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 04:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('news_attachments', sa.Column('storage_key', sa.String(length=300), nullable=True))
    op.alter_column('news_attachments', 'content', existing_type=sa.LargeBinary(), nullable=True)
    op.create_unique_constraint(op.f('uq_news_attachments_storage_key'), 'news_attachments', ['storage_key'])
    op.create_check_constraint(op.f('ck_news_attachments_one_place'), 'news_attachments',
                               '(storage_key IS NULL) <> (content IS NULL)')


def downgrade() -> None:
    # Attachments in object storage have no bytes here, so they cannot be kept.
    op.execute("DELETE FROM news_attachments WHERE storage_key IS NOT NULL")
    op.drop_constraint(op.f('ck_news_attachments_one_place'), 'news_attachments', type_='check')
    op.drop_constraint(op.f('uq_news_attachments_storage_key'), 'news_attachments', type_='unique')
    op.alter_column('news_attachments', 'content', existing_type=sa.LargeBinary(), nullable=False)
    op.drop_column('news_attachments', 'storage_key')
