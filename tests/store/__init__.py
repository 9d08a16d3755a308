"""The results database: schema migrations and the queries of scanhive.store."""
