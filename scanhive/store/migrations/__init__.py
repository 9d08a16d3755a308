"""The schema's revisions (Alembic scripts); scanhive.store.migrate applies them."""
