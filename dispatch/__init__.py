"""Domain layer: scenarios, plans, travel times, the daily router's front end and the checker.

Imports point one way: ``api`` → ``dispatch`` → ``solver``. Nothing here speaks HTTP or SQL.
"""
