"""Alembic environment: always run on a connection the gateway hands over (never from alembic.ini).

`gateway.storage.database.migrate` opens the connection, takes the migration lock and passes
the connection in `config.attributes["connection"]`. To write a new revision by hand:
    alembic -c gateway/storage/migrations/alembic.ini revision -m "what changes"
and edit the file it creates (autogenerate needs a database URL: -x url=sqlite:///tmp.db).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gateway.storage.schema import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # the alembic command line, e.g. `revision --autogenerate -x url=...`
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///:memory:")
    with create_engine(url).connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()
