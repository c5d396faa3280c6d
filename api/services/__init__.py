"""Domain services on the database: routers call these, these call :mod:`dispatch`."""
