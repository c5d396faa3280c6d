"""OR-Tools routing core: integer problems in, routes out. No I/O, no printing."""
