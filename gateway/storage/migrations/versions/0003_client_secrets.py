"""realtime_client_secrets: ephemeral keys for browsers, shared by every replica

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "realtime_client_secrets",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_client_secrets")),
    )
    op.create_index("ix_realtime_client_secrets_expires_at", "realtime_client_secrets", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_realtime_client_secrets_expires_at", table_name="realtime_client_secrets")
    op.drop_table("realtime_client_secrets")
