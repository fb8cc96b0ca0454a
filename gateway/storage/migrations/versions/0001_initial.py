"""consents, voices and recordings

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("phrase_language", sa.String(8), nullable=False),
        sa.Column("heard", sa.Text(), nullable=False),
        sa.Column("phrase", sa.Text(), nullable=False),
        sa.Column("error_rate", sa.Float(), nullable=False),
        sa.Column("recording_id", sa.String(40), nullable=False),
        sa.Column("speaker_embedding", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"], name=op.f("fk_consents_recording_id_recordings"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_tenant_id", "consents", ["tenant", "id"])
    op.create_table(
        "voices",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("consent_id", sa.String(40), nullable=False),
        sa.Column("sample_id", sa.String(40), nullable=False),
        sa.Column("speaker_embedding", sa.LargeBinary(), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("piper_voice", sa.String(300), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_voices_consent_id_consents"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["recordings.id"], name=op.f("fk_voices_sample_id_recordings"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voices")),
    )
    op.create_index("ix_voices_tenant_id", "voices", ["tenant", "id"])
    op.create_index("ix_voices_consent_id", "voices", ["consent_id"])


def downgrade() -> None:
    op.drop_index("ix_voices_consent_id", table_name="voices")
    op.drop_index("ix_voices_tenant_id", table_name="voices")
    op.drop_table("voices")
    op.drop_index("ix_consents_tenant_id", table_name="consents")
    op.drop_table("consents")
    op.drop_table("recordings")
